# fabric declines: cannot tell which model `optimizer` trains
import torch

w = torch.zeros(4, 1, requires_grad=True)
optimizer = torch.optim.SGD([w], lr=0.1)
for x in torch.randn(8, 16, 4):
    optimizer.zero_grad()
    loss = (x @ w).pow(2).mean()
    loss.backward()
    optimizer.step()

import torch
from torch import nn

torch.manual_seed(0)
X, Y = torch.randn(40, 3), torch.randn(40, 1)
model = nn.Linear(3, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
batch_size = 16
for epoch in range(3):
    perm = torch.randperm(len(X))
    for i in range(0, len(X), batch_size):
        idx = perm[i:i + batch_size]
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(X[idx]), Y[idx])
        loss.backward()
        optimizer.step()
    print(epoch, round(loss.item(), 5))

# declines: the train loop iterates `data`, bound more than once (lines 6, 9), to plain items at line 9: the Trainer needs one DataLoader
import torch
from torch import nn

# a tutorial's earlier section used the same name for a tensor
data = torch.randn(2, 2)
print(data)

data = [(torch.randn(4), torch.randn(1)) for _ in range(8)]
model = nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(2):
    for x, y in data:
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()

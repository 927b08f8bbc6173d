# declines: the epoch loop is a `while` loop, which it cannot lift into the Trainer's fixed number of epochs; `--fallback fabric` converts it
import torch
from torch import nn

model = nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
loader = torch.utils.data.DataLoader(torch.randn(32, 4), batch_size=8)
epoch = 0
while epoch < 3:
    for x in loader:
        optimizer.zero_grad()
        loss = model(x).pow(2).mean()
        loss.backward()
        optimizer.step()
    epoch += 1

"""Trains one step, then feeds the model a batch of the wrong width: a shape error."""

import torch
from torch import nn

torch.manual_seed(0)
model = nn.Linear(8, 2)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for width in (8, 7):
    optimizer.zero_grad()
    loss = model(torch.randn(4, width)).pow(2).mean()
    loss.backward()
    optimizer.step()

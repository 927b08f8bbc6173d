# fabric declines: it uses Lightning already
import torch
from lightning.fabric import Fabric
from torch import nn

fabric = Fabric()
model = nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
model, optimizer = fabric.setup(model, optimizer)
for x in torch.randn(4, 8, 4):
    optimizer.zero_grad()
    fabric.backward(model(x).sum())
    optimizer.step()

# declines: cannot lift
import torch
from torch import nn
from lightning_fabric import Fabric

fabric = Fabric()
fabric.launch()

model = nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
model, optimizer = fabric.setup(model, optimizer)
loader = torch.utils.data.DataLoader(torch.randn(32, 4), batch_size=8)
loader = fabric.setup_dataloaders(loader)
epoch = 0
while epoch < 3:
    for x in loader:
        optimizer.zero_grad()
        loss = model(x).pow(2).mean()
        fabric.backward(loss)
        optimizer.step()
    epoch += 1

# declines: `optimizer` is created anew inside the training loop
import torch
from torch import nn
from lightning_fabric import Fabric

fabric = Fabric()
fabric.launch()

model = nn.Linear(4, 1)
model = fabric.setup_module(model)
loader = torch.utils.data.DataLoader(torch.randn(32, 4), batch_size=8)
loader = fabric.setup_dataloaders(loader)
for epoch in range(2):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)  # fresh momentum every epoch
    optimizer = fabric.setup_optimizers(optimizer)
    for x in loader:
        optimizer.zero_grad()
        loss = model(x).pow(2).mean()
        fabric.backward(loss)
        optimizer.step()

# the loss read after training (the Trainer conversion hands it back from the module)
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
for epoch in range(2):
    for x in loader:
        optimizer.zero_grad()
        loss = model(x).pow(2).mean()
        fabric.backward(loss)
        optimizer.step()
fabric.print("final loss", loss.item())

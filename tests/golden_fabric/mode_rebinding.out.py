"""`model = model.eval()` / `model = model.train()` inside the loop bind the same module again
(rasbt's notebooks evaluate this way): it is set up once, where it is created."""
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from lightning_fabric import Fabric

fabric = Fabric()
fabric.launch()

torch.manual_seed(0)
x = torch.randn(64, 8)
y = (x[:, 0] > 0).long()
loader = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True)

model = nn.Sequential(nn.Linear(8, 16), nn.Dropout(0.1), nn.ReLU(), nn.Linear(16, 2))
model = model.train()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
model, optimizer = fabric.setup(model, optimizer)
loader = fabric.setup_dataloaders(loader, use_distributed_sampler=False)
for epoch in range(2):
    for features, targets in loader:
        loss = nn.functional.cross_entropy(model(features), targets)
        optimizer.zero_grad()
        fabric.backward(loss)
        optimizer.step()
    model = model.eval()
    with torch.no_grad():
        correct = sum((model(f).argmax(1) == t).sum().item() for f, t in loader)
    fabric.print(f"epoch {epoch}: {correct} of 64 right")
    model = model.train()

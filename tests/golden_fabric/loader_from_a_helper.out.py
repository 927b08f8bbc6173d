"""The loaders come from a helper that returns a DataLoader, and the evaluation is a list
comprehension over one: Fabric sets both up, so their batches reach the model's device."""
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from lightning_fabric import Fabric


def make_loader(x, y, shuffle):
    return DataLoader(TensorDataset(x, y), batch_size=8, shuffle=shuffle)


fabric = Fabric()
fabric.launch()

torch.manual_seed(0)
x = torch.randn(64, 4)
y = (x[:, 0] > 0).long()
train_loader = make_loader(x[:48], y[:48], True)
val_loader = make_loader(x[48:], y[48:], False)
model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
model, optimizer = fabric.setup(model, optimizer)
train_loader = fabric.setup_dataloaders(train_loader)
val_loader = fabric.setup_dataloaders(val_loader, use_distributed_sampler=False)
for epoch in range(2):
    for xb, yb in train_loader:
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(xb), yb)
        fabric.backward(loss)
        optimizer.step()
    with torch.no_grad():
        losses = [nn.functional.cross_entropy(model(a), b).item() for a, b in val_loader]
    fabric.print(epoch, sum(losses) / len(losses))

# fabric declines: the batches (`a`) of `val_loader` would stay on the CPU while Fabric moves the model to the process's device: it is iterated here before Fabric sets it up
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
x = torch.randn(64, 4)
y = (x[:, 0] > 0).long()
train_loader = DataLoader(TensorDataset(x[:48], y[:48]), batch_size=8, shuffle=True)
val_loader = DataLoader(TensorDataset(x[48:], y[48:]), batch_size=8)
val_batches = [(a, b) for a, b in val_loader]  # read once, before the model exists
model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(2):
    for xb, yb in train_loader:
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(xb), yb)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        losses = [nn.functional.cross_entropy(model(a), b).item() for a, b in val_batches]
    print(epoch, sum(losses) / len(losses))

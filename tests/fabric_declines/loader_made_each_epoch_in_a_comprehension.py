# fabric declines: the batches (`a`) of `val_loader` would stay on the CPU while Fabric moves the model to the process's device: Fabric does not set it up
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
x = torch.randn(64, 4)
y = (x[:, 0] > 0).long()
train_loader = DataLoader(TensorDataset(x[:48], y[:48]), batch_size=8, shuffle=True)
model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(2):
    for xb, yb in train_loader:
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(xb), yb)
        loss.backward()
        optimizer.step()
    val_loader = DataLoader(TensorDataset(x[48:], y[48:]), batch_size=4 * (epoch + 1))
    with torch.no_grad():
        losses = [nn.functional.cross_entropy(model(a), b).item() for a, b in val_loader]
    print(epoch, sum(losses) / len(losses))

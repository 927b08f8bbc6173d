"""ReduceLROnPlateau stepped with the validation loss at the end of every epoch."""
import torch
from torch import nn, optim
from torch.optim.lr_scheduler import ReduceLROnPlateau
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(2)
x = torch.randn(160, 3)
y = torch.sin(x.sum(dim=1, keepdim=True))
train_loader = DataLoader(TensorDataset(x[:128], y[:128]), batch_size=16, shuffle=True)
val_loader = DataLoader(TensorDataset(x[128:], y[128:]), batch_size=16)

net = nn.Sequential(nn.Linear(3, 32), nn.Tanh(), nn.Linear(32, 1))
optimizer = optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
scheduler = ReduceLROnPlateau(optimizer, mode="min", factor=0.5, patience=0)
loss_fn = nn.MSELoss()

for epoch in range(8):
    net.train()
    for xb, yb in train_loader:
        optimizer.zero_grad()
        loss = loss_fn(net(xb), yb)
        loss.backward()
        optimizer.step()
    net.eval()
    val_loss = 0.0
    with torch.no_grad():
        for xb, yb in val_loader:
            val_loss += loss_fn(net(xb), yb).item()
    val_loss /= len(val_loader)
    scheduler.step(val_loss)
    print(epoch, round(val_loss, 5), optimizer.param_groups[0]["lr"])

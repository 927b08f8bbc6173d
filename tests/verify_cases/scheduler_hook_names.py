"""ReduceLROnPlateau with a print after its step reading a global named `metric`: the lr_scheduler_step
override must not hide it (issue 19)."""
import torch
from torch import nn
from torch.optim.lr_scheduler import ReduceLROnPlateau
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(2)
metric = "mse"
x = torch.randn(96, 3)
y = x.sum(dim=1, keepdim=True)
train_loader = DataLoader(TensorDataset(x[:64], y[:64]), batch_size=16, shuffle=True)
val_loader = DataLoader(TensorDataset(x[64:], y[64:]), batch_size=16)
net = nn.Linear(3, 1)
optimizer = torch.optim.SGD(net.parameters(), lr=0.05)
scheduler = ReduceLROnPlateau(optimizer, patience=0)
def evaluate(net, loader):
    net.eval()
    total = 0.0
    with torch.no_grad():
        for xb, yb in loader:
            total += nn.functional.mse_loss(net(xb), yb).item()
    return total


for epoch in range(4):
    net.train()
    for xb, yb in train_loader:
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(net(xb), yb)
        loss.backward()
        optimizer.step()
    val_loss = evaluate(net, val_loader)
    scheduler.step(val_loss)
    print(metric, round(val_loss, 5), optimizer.param_groups[0]["lr"])

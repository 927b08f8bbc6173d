"""Calls model.eval() before training for a forward pass that sizes a lazy layer, and
model.train() at the start of each epoch: training runs in train mode (dropout on)."""

import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.ReLU())
        self.head = nn.LazyLinear(1)

    def forward(self, x):
        return self.head(self.body(x))


torch.manual_seed(0)
x = torch.randn(64, 4)
y = x.sum(1, keepdim=True)
loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=16)
val_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=32)
model = Net()
model.eval()
with torch.no_grad():
    model(torch.zeros(1, 4))  # sizes the lazy layer
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
for epoch in range(3):
    model.train()
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(xb), yb)
        loss.backward()
        optimizer.step()
    print("epoch", epoch, "loss", round(loss.item(), 5))
    model.eval()
    total = 0.0
    with torch.no_grad():
        for a, b in val_loader:
            total += nn.functional.mse_loss(model(a), b).item()
    print("val", round(total, 5))
print("training", model.training)

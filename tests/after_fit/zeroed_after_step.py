"""Zeroes the gradients after each step and never evaluates: none are left after training."""

import json

import torch
from torch import nn

torch.manual_seed(0)
x = torch.randn(48, 3)
y = x @ torch.tensor([[1.0], [-2.0], [0.5]])
loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=16)
model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 1))
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
for epoch in range(3):
    for xb, yb in loader:
        loss = nn.functional.mse_loss(model(xb), yb)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    print("epoch", epoch, round(loss.item(), 6))
grads = [None if p.grad is None else round(p.grad.sum().item(), 6) for p in model.parameters()]
with open("after.json", "w") as f:
    json.dump({"training": model.training, "grads": grads}, f)

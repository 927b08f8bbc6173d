"""A plain loop that imports its sibling ``converter`` module."""

import torch
from converter import learning_rate
from torch import nn

torch.manual_seed(0)
x, y = torch.randn(64, 4), torch.randn(64, 1)
model = nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate(0.2))
for epoch in range(2):
    for i in range(0, 64, 16):
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(x[i : i + 16]), y[i : i + 16])
        loss.backward()
        optimizer.step()
    print(f"epoch {epoch}: loss {loss.item():.4f}")

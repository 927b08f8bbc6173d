"""Sine-wave regression with LBFGS: the optimizer calls a closure several times per step."""
import math

import torch
import torch.nn as nn
from lightning_fabric import Fabric

fabric = Fabric()
fabric.launch()

torch.manual_seed(0)
t = torch.linspace(0, 2 * math.pi, 64).unsqueeze(1)
target = torch.sin(t)
dataset = torch.utils.data.TensorDataset(t, target)
loader = torch.utils.data.DataLoader(dataset, batch_size=64)


class Curve(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(1, 20), nn.Tanh(), nn.Linear(20, 1))

    def forward(self, x):
        return self.net(x)


model = Curve()
criterion = nn.MSELoss()
optimizer = torch.optim.LBFGS(model.parameters(), lr=0.5, max_iter=5)
model, optimizer = fabric.setup(model, optimizer)
loader = fabric.setup_dataloaders(loader)

for epoch in range(4):
    for x, y in loader:

        def closure():
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            fabric.backward(loss)
            return loss

        optimizer.step(closure)
    fabric.print("epoch", epoch, "loss", criterion(model(t.to(fabric.device)), target.to(fabric.device)).item())

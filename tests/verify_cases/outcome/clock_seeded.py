"""A script that seeds its training from the clock: no two runs train alike, so verify cannot
judge any conversion of it (compared with itself, it still differs)."""

import time

import torch

torch.manual_seed(time.time_ns() % 2**31)
w = torch.zeros(3, requires_grad=True)
optimizer = torch.optim.SGD([w], lr=0.1)
for _ in range(3):
    optimizer.zero_grad()
    loss = ((w - torch.randn(3)) ** 2).sum()
    loss.backward()
    optimizer.step()

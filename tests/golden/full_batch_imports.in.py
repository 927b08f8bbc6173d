"""A full-batch loop in a script that binds no `torch`: the one-batch loader the conversion
generates needs it, so the conversion imports it."""

from torch import manual_seed, nn, tensor
import torch.nn.functional as F
from torch.optim import SGD

manual_seed(0)
X = tensor([[1.0], [2.0], [3.0], [4.0]])
Y = tensor([[2.0], [4.0], [6.0], [8.0]])
model = nn.Linear(1, 1)
optimizer = SGD(model.parameters(), lr=0.01)
for t in range(50):
    optimizer.zero_grad()
    loss = F.mse_loss(model(X), Y)
    loss.backward()
    optimizer.step()
    if t % 10 == 0:
        print(t, loss.item())

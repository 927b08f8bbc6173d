"""A learning-rate sweep: the whole training runs once per rate, each round with a model and an
optimizer of its own, so each round becomes a Trainer and a module of its own."""
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(5)
inputs = torch.randn(64, 5)
targets = inputs @ torch.randn(5, 1) + 0.1 * torch.randn(64, 1)
loader = DataLoader(TensorDataset(inputs, targets), batch_size=16, shuffle=True)

for lr in (0.1, 0.01):
    model = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for epoch in range(3):
        for x, y in loader:
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            optimizer.step()
        print(f"lr {lr} epoch {epoch}: loss {loss.item():.4f}")

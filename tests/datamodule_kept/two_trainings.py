# kept: the script trains more than once
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
loader = DataLoader(TensorDataset(torch.randn(64, 4), torch.randn(64, 1)), batch_size=8)

small = nn.Linear(4, 1)
small_optimizer = torch.optim.SGD(small.parameters(), lr=0.1)
for _ in range(2):
    for x, y in loader:
        small_optimizer.zero_grad()
        loss = nn.functional.mse_loss(small(x), y)
        loss.backward()
        small_optimizer.step()

large = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1))
large_optimizer = torch.optim.SGD(large.parameters(), lr=0.1)
for _ in range(2):
    for x, y in loader:
        large_optimizer.zero_grad()
        loss = nn.functional.mse_loss(large(x), y)
        loss.backward()
        large_optimizer.step()

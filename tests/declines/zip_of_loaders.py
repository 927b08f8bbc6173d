# declines: does not iterate over a loader variable
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
loader_a = DataLoader(TensorDataset(torch.randn(32, 4)), batch_size=8, shuffle=True)
loader_b = DataLoader(TensorDataset(torch.randn(32, 4)), batch_size=8, shuffle=True)
model = nn.Linear(4, 4)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(2):
    # list(zip(...)) made once would keep the first epoch's shuffle for every epoch
    for (a,), (b,) in zip(loader_a, loader_b):
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(a), b)
        loss.backward()
        optimizer.step()

# declines: `torch.rand(1)` draws from (or reseeds) torch's global random generator before the loop over `loader`; Lightning starts the first epoch's iterator
import torch
from torch import nn


def epoch_noise():
    return torch.rand(1) * 0.1  # the draw is in a function the epoch calls


torch.manual_seed(0)
model = nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
loader = torch.utils.data.DataLoader(torch.randn(32, 4), batch_size=8)
for epoch in range(3):
    noise = epoch_noise()
    for x in loader:
        optimizer.zero_grad()
        loss = model(x + noise).pow(2).mean()
        loss.backward()
        optimizer.step()
    print(epoch, loss.item())

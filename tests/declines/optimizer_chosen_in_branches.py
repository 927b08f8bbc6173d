# declines: `optimizer` is bound more than once (lines 12, 14), not one after the other before the loop
import torch
from torch import nn, optim

data = torch.utils.data.TensorDataset(torch.randn(16, 4), torch.zeros(16, dtype=torch.long))
loader = torch.utils.data.DataLoader(data, batch_size=4)
criterion = nn.CrossEntropyLoss()
use_adam = len(data) > 8

model = nn.Linear(4, 2)
if use_adam:
    optimizer = optim.Adam(model.parameters(), lr=0.003)
else:
    optimizer = optim.SGD(model.parameters(), lr=0.1)
for e in range(2):
    for x, y in loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()

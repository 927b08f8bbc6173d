# declines: `optimizer` (line 9) is used by another training loop here too
import torch
from torch import nn

data = torch.utils.data.TensorDataset(torch.randn(16, 4), torch.zeros(16, dtype=torch.long))
loader = torch.utils.data.DataLoader(data, batch_size=4)
criterion = nn.CrossEntropyLoss()
model = nn.Linear(4, 2)
optimizer = torch.optim.Adam(model.parameters(), lr=0.003)
for e in range(2):
    for x, y in loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()

# two more epochs of the same training, later in the notebook
for e in range(2):
    for x, y in loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()

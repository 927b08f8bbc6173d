"""Two training runs in one notebook-like script: each its own model and optimizer, bound to the
same names; each becomes its own LightningModule and Trainer run, in order."""
import torch
from torch import nn, optim

data = torch.utils.data.TensorDataset(torch.randn(16, 4), torch.zeros(16, dtype=torch.long))
loader = torch.utils.data.DataLoader(data, batch_size=4)
criterion = nn.CrossEntropyLoss()

model = nn.Linear(4, 2)
optimizer = optim.Adam(model.parameters(), lr=0.003)
for e in range(2):
    for x, y in loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()

# the same network again, now with dropout
model = nn.Sequential(nn.Dropout(0.2), nn.Linear(4, 2))
optimizer = optim.Adam(model.parameters(), lr=0.003)
for e in range(2):
    for x, y in loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()

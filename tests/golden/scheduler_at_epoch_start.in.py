"""Older tutorials step the scheduler at the start of each epoch, before its batches: epoch e
trains at the rate of step e + 1, one step ahead of Lightning's end-of-epoch interval."""
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(3)
inputs = torch.randn(96, 6)
labels = (inputs[:, 0] > 0).long()
loader = DataLoader(TensorDataset(inputs, labels), batch_size=16, shuffle=True)

model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 2))
optimizer = torch.optim.SGD(model.parameters(), lr=0.2, momentum=0.9)
scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[1, 3], gamma=0.3)
criterion = nn.CrossEntropyLoss()

for epoch in range(4):
    scheduler.step()
    print(f"epoch {epoch}: lr {scheduler.get_last_lr()[0]:.4f}")
    for x, y in loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
    print(f"epoch {epoch}: last loss {loss.item():.4f}")

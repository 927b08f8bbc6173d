"""Gradient accumulation by hand: the loss is scaled and the optimizer steps every 4 batches."""
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(5)
data = TensorDataset(torch.randn(88, 10), torch.randint(0, 3, (88,)))
loader = DataLoader(data, batch_size=8, shuffle=True)  # 11 batches: the last window is short

model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 3))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
accumulation_steps = 4

for epoch in range(3):
    optimizer.zero_grad()
    for i, (x, y) in enumerate(loader):
        loss = nn.functional.cross_entropy(model(x), y) / accumulation_steps
        loss.backward()
        if (i + 1) % accumulation_steps == 0:
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            optimizer.zero_grad()
    print("epoch", epoch, "last loss", loss.item() * accumulation_steps)

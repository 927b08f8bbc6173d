"""The batch index read after its loop: the last batch's index, kept on the module (`self.i`)."""
import torch
from torch import nn

model = nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
loader = torch.utils.data.DataLoader(torch.randn(32, 4), batch_size=8)
for epoch in range(2):
    running_loss = 0.0
    for i, x in enumerate(loader, 1):
        optimizer.zero_grad()
        loss = model(x).pow(2).mean()
        loss.backward()
        optimizer.step()
        running_loss += loss.item()
    print("mean loss", running_loss / i)

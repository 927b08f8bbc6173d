# declines: `break` out of the epoch loop where Lightning cannot stop: early stopping converts when the `break` is the last thing an epoch does
import torch
from torch import nn

model = nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
data = torch.utils.data.TensorDataset(torch.randn(8, 4), torch.randn(8, 1))
loader = torch.utils.data.DataLoader(data, batch_size=4)
best, bad = 1e9, 0
for epoch in range(20):
    total = 0.0
    for x, y in loader:
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        total += loss.item()
    if total < best:
        best, bad = total, 0
    else:
        bad += 1
    if bad > 3:
        break
    print(epoch, total)

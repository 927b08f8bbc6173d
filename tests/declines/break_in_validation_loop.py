# declines: `break` inside the validation loop: Lightning runs every validation batch
import torch
from torch import nn

model = nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
data = torch.utils.data.TensorDataset(torch.randn(8, 4), torch.randn(8, 1))
loader = torch.utils.data.DataLoader(data, batch_size=4)
val_loader = torch.utils.data.DataLoader(data, batch_size=4)
for epoch in range(2):
    for x, y in loader:
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
    total = 0.0
    with torch.no_grad():
        for i, (x, y) in enumerate(val_loader):
            if i == 1:
                break
            total += nn.functional.mse_loss(model(x), y).item()
    print(total)

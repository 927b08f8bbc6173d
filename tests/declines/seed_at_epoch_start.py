# declines: `torch.manual_seed(epoch)` draws from (or reseeds) torch's global random generator before the loop over `loader`
import torch
from torch import nn

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
loader = torch.utils.data.DataLoader(torch.randn(32, 4), batch_size=8, shuffle=True)
for epoch in range(3):
    torch.manual_seed(epoch)  # Lightning would reseed after the first epoch's loader drew its seed
    for i, x in enumerate(loader):
        optimizer.zero_grad()
        loss = model(x).pow(2).mean()
        loss.backward()
        optimizer.step()
    print(epoch, loss.item())

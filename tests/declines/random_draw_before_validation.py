# declines: `torch.randn(1, 4)` draws from (or reseeds) torch's global random generator before the loop over `val_loader`; Lightning starts its iterator over that loader, which draws its seed from the same generator, before on_validation_epoch_start
import torch
from torch import nn

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
loader = torch.utils.data.DataLoader(torch.randn(32, 4), batch_size=8, shuffle=True)
val_loader = torch.utils.data.DataLoader(torch.randn(16, 4), batch_size=8)
for epoch in range(3):
    model.train()
    for i, x in enumerate(loader):
        optimizer.zero_grad()
        loss = model(x).pow(2).mean()
        loss.backward()
        optimizer.step()
    model.eval()
    probe = torch.randn(1, 4)
    total = 0.0
    with torch.no_grad():
        for v in val_loader:
            total += model(v + probe).pow(2).mean().item()
    print(epoch, total)

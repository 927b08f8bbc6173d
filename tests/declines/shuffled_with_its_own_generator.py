# declines: `loader` shuffles with a generator of its own: the loop runs its sampler to the end
import torch
from torch import nn

torch.manual_seed(0)
model = nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
loader = torch.utils.data.DataLoader(
    torch.randn(32, 4), batch_size=8, shuffle=True, generator=torch.Generator().manual_seed(1)
)
for epoch in range(3):
    for x in loader:
        optimizer.zero_grad()
        loss = model(x).pow(2).mean()
        loss.backward()
        optimizer.step()
    print(epoch, loss.item())

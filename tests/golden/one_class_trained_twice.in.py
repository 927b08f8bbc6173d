"""A notebook trains the same network class twice, with another size and optimizer: the class
stays an nn.Module and each run gets a LightningModule of its own that wraps it (`LitNet`,
`LitNet_2`); the loss each run leaves behind is read after it."""
import torch
from torch import nn

class Net(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(4, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, x):
        return self.fc(x)

torch.manual_seed(0)
loader = torch.utils.data.DataLoader(torch.randn(32, 4), batch_size=8)
model = Net(8)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(2):
    for x in loader:
        optimizer.zero_grad()
        loss = model(x).pow(2).mean()
        loss.backward()
        optimizer.step()
print("small:", loss.item())

model = Net(32)
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
for epoch in range(2):
    for x in loader:
        optimizer.zero_grad()
        loss = model(x).abs().mean()
        loss.backward()
        optimizer.step()
print("large:", loss.item())

"""The model built again after training, from the saved weights, for inference: only the first is the one the loop trains."""
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 1)

    def forward(self, x):
        return self.fc(x)


model = Net()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
loader = torch.utils.data.DataLoader(torch.randn(32, 4), batch_size=8)
for epoch in range(2):
    for x in loader:
        optimizer.zero_grad()
        loss = model(x).pow(2).mean()
        loss.backward()
        optimizer.step()
torch.save(model.state_dict(), "net.pt")

model = Net()
model.load_state_dict(torch.load("net.pt"))
model.eval()
print(model(torch.ones(1, 4)).item())

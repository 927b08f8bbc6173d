# declines: `model.classifier` is set after Net(...) creates the model: load_from_checkpoint builds Net from its constructor alone
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(8, 4)

    def forward(self, x):
        return self.classifier(torch.relu(self.body(x)))


model = Net()
model.classifier = nn.Linear(4, 1)  # attached afterwards: a reloaded Net would not have it
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
data = torch.utils.data.TensorDataset(torch.randn(32, 8), torch.randn(32, 1))
loader = torch.utils.data.DataLoader(data, batch_size=8)
for epoch in range(2):
    for x, y in loader:
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()

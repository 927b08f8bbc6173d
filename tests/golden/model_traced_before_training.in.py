"""The model is handed to other code before training (torch.jit.trace, as SummaryWriter.add_graph does): its class stays an nn.Module, which a LightningModule wraps; an unattached LightningModule raises when traced."""
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))

    def forward(self, x):
        return self.layers(x)


torch.manual_seed(0)
loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(32, 4), torch.randn(32, 1)), batch_size=8)
model = Net()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
traced = torch.jit.trace(model, torch.randn(2, 4))
print("traced", traced(torch.ones(1, 4)).shape)
for epoch in range(2):
    for x, y in loader:
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
    print(epoch, round(loss.item(), 5))

"""A model whose attributes and methods are LightningModule members: `self.device`, `self.hparams`,
`self.logger`, `self.current_epoch`, a `print` and a `log` method (issue 19)."""
import logging

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class Net(nn.Module):
    def __init__(self, hparams, device):
        super().__init__()
        self.device = device
        self.hparams = hparams
        self.logger = logging.getLogger("net")
        self.current_epoch = 0
        self.layer = nn.Linear(4, 1)

    def forward(self, x):
        noise = torch.zeros(x.shape[0], 1, device=self.device)
        return self.layer(x) * self.hparams["scale"] + noise

    def print(self, *args):
        print("[net]", *args)

    def log(self, value):
        self.logger.info("loss %s", value)


torch.manual_seed(0)
device = torch.device("cpu")
x = torch.randn(64, 4)
y = x.sum(1, keepdim=True)
loader = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True)
model = Net({"scale": 1.0}, device).to(device)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(2):
    for xb, yb in loader:
        xb, yb = xb.to(device), yb.to(device)
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(xb), yb)
        loss.backward()
        optimizer.step()
        model.log(loss.item())
    model.current_epoch += 1
    model.print(epoch, round(loss.item(), 6), model.current_epoch)

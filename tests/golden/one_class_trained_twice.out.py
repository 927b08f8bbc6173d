"""A notebook trains the same network class twice, with another size and optimizer: the class
stays an nn.Module and each run gets a LightningModule of its own that wraps it (`LitNet`,
`LitNet_2`); the loss each run leaves behind is read after it."""
import torch
from torch import nn
import pytorch_lightning as pl

class Net(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(4, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, x):
        return self.fc(x)


class LitNet(pl.LightningModule):
    """Trains `model`, an nn.Module whose class stays as it is: it keeps its own state-dict keys."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, *args, **kwargs):
        return self.model(*args, **kwargs)

    def training_step(self, x, batch_idx):
        self.loss = self.model(x).pow(2).mean()
        self.log("train_loss", self.loss, prog_bar=True, on_epoch=True, sync_dist=True)
        return self.loss

    def configure_optimizers(self):
        optimizer = torch.optim.SGD(self.model.parameters(), lr=0.1)
        return optimizer


class LitNet_2(pl.LightningModule):
    """Trains `model`, an nn.Module whose class stays as it is: it keeps its own state-dict keys."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, *args, **kwargs):
        return self.model(*args, **kwargs)

    def training_step(self, x, batch_idx):
        self.loss = self.model(x).abs().mean()
        self.log("train_loss", self.loss, prog_bar=True, on_epoch=True, sync_dist=True)
        return self.loss

    def configure_optimizers(self):
        optimizer = torch.optim.Adam(self.model.parameters(), lr=0.01)
        return optimizer

torch.manual_seed(0)
loader = torch.utils.data.DataLoader(torch.randn(32, 4), batch_size=8)
model = Net(8)
lit_model = LitNet(model)
trainer = pl.Trainer(max_epochs=2)
trainer.fit(lit_model, train_dataloaders=loader)
loss = lit_model.loss
print("small:", loss.item())

model = Net(32)
lit_model = LitNet_2(model)
trainer = pl.Trainer(max_epochs=2)
trainer.fit(lit_model, train_dataloaders=loader)
loss = lit_model.loss
print("large:", loss.item())

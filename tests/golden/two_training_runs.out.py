"""Two training runs in one notebook-like script: each its own model and optimizer, bound to the
same names; each becomes its own LightningModule and Trainer run, in order."""
import torch
from torch import nn, optim
import pytorch_lightning as pl

data = torch.utils.data.TensorDataset(torch.randn(16, 4), torch.zeros(16, dtype=torch.long))
loader = torch.utils.data.DataLoader(data, batch_size=4)
criterion = nn.CrossEntropyLoss()

model = nn.Linear(4, 2)


class LitLinear(pl.LightningModule):
    """Trains `model`, an nn.Module whose class stays as it is: it keeps its own state-dict keys."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, *args, **kwargs):
        return self.model(*args, **kwargs)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = criterion(self.model(x), y)
        self.log("train_loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)
        return loss

    def configure_optimizers(self):
        optimizer = optim.Adam(self.model.parameters(), lr=0.003)
        return optimizer

    def predict_step(self, batch, batch_idx):
        x, y = batch
        return self(x)


lit_model = LitLinear(model)
trainer = pl.Trainer(max_epochs=2)
trainer.fit(lit_model, train_dataloaders=loader)

# the same network again, now with dropout
model = nn.Sequential(nn.Dropout(0.2), nn.Linear(4, 2))


class LitSequential(pl.LightningModule):
    """Trains `model`, an nn.Module whose class stays as it is: it keeps its own state-dict keys."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, *args, **kwargs):
        return self.model(*args, **kwargs)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = criterion(self.model(x), y)
        self.log("train_loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)
        return loss

    def configure_optimizers(self):
        optimizer = optim.Adam(self.model.parameters(), lr=0.003)
        return optimizer

    def predict_step(self, batch, batch_idx):
        x, y = batch
        return self(x)


lit_model = LitSequential(model)
trainer = pl.Trainer(max_epochs=2)
trainer.fit(lit_model, train_dataloaders=loader)

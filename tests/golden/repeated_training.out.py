"""A learning-rate sweep: the whole training runs once per rate, each round with a model and an
optimizer of its own, so each round becomes a Trainer and a module of its own."""
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
import pytorch_lightning as pl

torch.manual_seed(5)
inputs = torch.randn(64, 5)
targets = inputs @ torch.randn(5, 1) + 0.1 * torch.randn(64, 1)
loader = DataLoader(TensorDataset(inputs, targets), batch_size=16, shuffle=True)


class LitSequential(pl.LightningModule):
    """Trains `model`, an nn.Module whose class stays as it is: it keeps its own state-dict keys."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, *args, **kwargs):
        return self.model(*args, **kwargs)

    def training_step(self, batch, batch_idx):
        x, y = batch
        self.loss = nn.functional.mse_loss(self.model(x), y)
        self.log("train_loss", self.loss, prog_bar=True, on_epoch=True, sync_dist=True)
        return self.loss

    def on_train_epoch_end(self):
        self.print(f"lr {lr} epoch {self.current_epoch}: loss {self.loss.item():.4f}")

    def configure_optimizers(self):
        optimizer = torch.optim.Adam(self.model.parameters(), lr=lr)
        return optimizer

    def predict_step(self, batch, batch_idx):
        x, y = batch
        return self(x)


for lr in (0.1, 0.01):
    model = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 1))
    lit_model = LitSequential(model)
    trainer = pl.Trainer(max_epochs=3)
    trainer.fit(lit_model, train_dataloaders=loader)

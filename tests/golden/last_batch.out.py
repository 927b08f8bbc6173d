"""The epoch's report reuses the last batch of the loop (its inputs, as yunjey's VAE does)."""
import torch
from torch import nn
import pytorch_lightning as pl

torch.manual_seed(6)
loader = torch.utils.data.DataLoader(torch.rand(60, 8), batch_size=16, shuffle=True)
model = nn.Sequential(nn.Linear(8, 3), nn.ReLU(), nn.Linear(3, 8), nn.Sigmoid())


class LitSequential(pl.LightningModule):
    """Trains `model`, an nn.Module whose class stays as it is: it keeps its own state-dict keys."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, *args, **kwargs):
        return self.model(*args, **kwargs)

    def training_step(self, batch, batch_idx):
        self.x = batch
        self.x = self.x.view(-1, 8)
        loss = nn.functional.binary_cross_entropy(self.model(self.x), self.x)
        self.log("train_loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)
        return loss

    def on_train_epoch_end(self):
        with torch.no_grad():
            self.print(self.current_epoch, "reconstruction of the last batch:", self.model(self.x).mean().item())

    def configure_optimizers(self):
        optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-2)
        return optimizer

    def predict_step(self, x, batch_idx):
        x = x.view(-1, 8)
        return self(x)


lit_model = LitSequential(model)
trainer = pl.Trainer(max_epochs=3)
trainer.fit(lit_model, train_dataloaders=loader)

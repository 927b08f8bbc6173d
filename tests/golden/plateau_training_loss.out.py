"""ReduceLROnPlateau stepped on the epoch's mean training loss: logged where it was stepped, monitored by Lightning."""
import torch
from torch import nn
import pytorch_lightning as pl

torch.manual_seed(0)
loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(64, 4), torch.randn(64, 1)), batch_size=16)
model = nn.Linear(4, 1)


class LitLinear(pl.LightningModule):
    """Trains `model`, an nn.Module whose class stays as it is: it keeps its own state-dict keys."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, *args, **kwargs):
        return self.model(*args, **kwargs)

    def on_train_epoch_start(self):
        self.total = 0.0

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = nn.functional.mse_loss(self.model(x), y)
        self.total += loss.item()
        self.log("train_loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)
        return loss

    def on_train_epoch_end(self):
        if self.trainer.world_size > 1:  # the totals over all processes' batches
            self.total = self.all_gather(self.total).sum().item()
        self.log("plateau_metric", self.total / (self.trainer.num_training_batches * self.trainer.world_size), sync_dist=True)

    def lr_scheduler_step(self, scheduler, metric):
        super().lr_scheduler_step(scheduler, metric)
        self.print(self.current_epoch, self.total / (self.trainer.num_training_batches * self.trainer.world_size), self.optimizers().param_groups[0]["lr"])

    def configure_optimizers(self):
        optimizer = torch.optim.SGD(self.model.parameters(), lr=0.1)
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, patience=0, factor=0.5, threshold=0.2)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "epoch", "monitor": "plateau_metric"},
        }

    def predict_step(self, batch, batch_idx):
        x, y = batch
        return self(x)


lit_model = LitLinear(model)
trainer = pl.Trainer(max_epochs=4)
trainer.fit(lit_model, train_dataloaders=loader)

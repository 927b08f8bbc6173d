"""ReduceLROnPlateau stepped with the validation loss at the end of every epoch."""
import torch
from torch import nn, optim
from torch.optim.lr_scheduler import ReduceLROnPlateau
from torch.utils.data import DataLoader, TensorDataset
import pytorch_lightning as pl

torch.manual_seed(2)
x = torch.randn(160, 3)
y = torch.sin(x.sum(dim=1, keepdim=True))
train_loader = DataLoader(TensorDataset(x[:128], y[:128]), batch_size=16, shuffle=True)
val_loader = DataLoader(TensorDataset(x[128:], y[128:]), batch_size=16)

net = nn.Sequential(nn.Linear(3, 32), nn.Tanh(), nn.Linear(32, 1))
loss_fn = nn.MSELoss()


class LitSequential(pl.LightningModule):
    """Trains `model`, an nn.Module whose class stays as it is: it keeps its own state-dict keys."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, *args, **kwargs):
        return self.model(*args, **kwargs)

    def training_step(self, batch, batch_idx):
        xb, yb = batch
        loss = loss_fn(self.model(xb), yb)
        self.log("train_loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)
        return loss

    def lr_scheduler_step(self, scheduler, metric):
        super().lr_scheduler_step(scheduler, metric)
        self.print(self.current_epoch, round(self.val_loss, 5), self.optimizers().param_groups[0]["lr"])

    def on_validation_epoch_start(self):
        self.val_loss = 0.0

    def validation_step(self, batch, batch_idx):
        xb, yb = batch
        self.val_loss += loss_fn(self.model(xb), yb).item()

    def on_validation_epoch_end(self):
        if self.trainer.world_size > 1:  # the totals over all processes' batches
            self.val_loss = self.all_gather(self.val_loss).sum().item()
        self.val_loss /= len(self.trainer.val_dataloaders) * self.trainer.world_size
        self.log("val_loss", self.val_loss)  # what ReduceLROnPlateau monitors

    def configure_optimizers(self):
        optimizer = optim.SGD(self.model.parameters(), lr=0.05, momentum=0.9)
        scheduler = ReduceLROnPlateau(optimizer, mode="min", factor=0.5, patience=0)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "epoch", "monitor": "val_loss", "strict": False},
        }

    def predict_step(self, batch, batch_idx):
        xb, yb = batch
        return self(xb)

    def on_validation_model_zero_grad(self):
        """Lightning clears the gradients here; the loop kept the last batch's through evaluation."""


lit_net = LitSequential(net)
trainer = pl.Trainer(max_epochs=8)
trainer.fit(lit_net, train_dataloaders=train_loader, val_dataloaders=val_loader)
net.eval()  # as the loop left it (Lightning restores the mode after evaluating)

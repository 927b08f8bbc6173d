"""Older tutorials step the scheduler at the start of each epoch, before its batches: epoch e
trains at the rate of step e + 1, one step ahead of Lightning's end-of-epoch interval."""
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
import pytorch_lightning as pl

torch.manual_seed(3)
inputs = torch.randn(96, 6)
labels = (inputs[:, 0] > 0).long()
loader = DataLoader(TensorDataset(inputs, labels), batch_size=16, shuffle=True)

model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 2))
criterion = nn.CrossEntropyLoss()


class LitSequential(pl.LightningModule):
    """Trains `model`, an nn.Module whose class stays as it is: it keeps its own state-dict keys."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, *args, **kwargs):
        return self.model(*args, **kwargs)

    def on_train_epoch_start(self):
        self.lr_schedulers().step()
        self.print(f"epoch {self.current_epoch}: lr {self.lr_schedulers().get_last_lr()[0]:.4f}")

    def training_step(self, batch, batch_idx):
        x, y = batch
        self.loss = criterion(self.model(x), y)
        self.log("train_loss", self.loss, prog_bar=True, on_epoch=True, sync_dist=True)
        return self.loss

    def on_train_epoch_end(self):
        self.print(f"epoch {self.current_epoch}: last loss {self.loss.item():.4f}")

    def configure_optimizers(self):
        optimizer = torch.optim.SGD(self.model.parameters(), lr=0.2, momentum=0.9)
        scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[1, 3], gamma=0.3)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler},
        }

    def lr_scheduler_step(self, scheduler, metric):
        """Off: the scheduler steps at the start of each epoch, in on_train_epoch_start."""

    def predict_step(self, batch, batch_idx):
        x, y = batch
        return self(x)


lit_model = LitSequential(model)
trainer = pl.Trainer(max_epochs=4)
trainer.fit(lit_model, train_dataloaders=loader)

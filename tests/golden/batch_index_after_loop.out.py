"""The batch index read after its loop: the last batch's index, kept on the module (`self.i`)."""
import torch
from torch import nn
import pytorch_lightning as pl

model = nn.Linear(4, 1)
loader = torch.utils.data.DataLoader(torch.randn(32, 4), batch_size=8)


class LitLinear(pl.LightningModule):
    """Trains `model`, an nn.Module whose class stays as it is: it keeps its own state-dict keys."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, *args, **kwargs):
        return self.model(*args, **kwargs)

    def on_train_epoch_start(self):
        self.running_loss = 0.0

    def training_step(self, x, batch_idx):
        self.i = batch_idx + 1
        loss = self.model(x).pow(2).mean()
        self.running_loss += loss.item()
        self.log("train_loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)
        return loss

    def on_train_epoch_end(self):
        self.print("mean loss", self.running_loss / self.i)

    def configure_optimizers(self):
        optimizer = torch.optim.SGD(self.model.parameters(), lr=0.1)
        return optimizer


lit_model = LitLinear(model)
trainer = pl.Trainer(max_epochs=2)
trainer.fit(lit_model, train_dataloaders=loader)

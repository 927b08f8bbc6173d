"""The script already uses `pl` and `trainer` for its own things: the conversion's import alias
and Trainer variable must not take them over."""

import torch
from torch import nn
import pytorch_lightning as pl_2

pl = "pipeline label"  # not pytorch_lightning
trainer = {"name": "Ada"}  # not a Lightning Trainer

model = nn.Linear(4, 1)
loader = torch.utils.data.DataLoader(torch.randn(32, 4), batch_size=8)


class LitLinear(pl_2.LightningModule):
    """Trains `model`, an nn.Module whose class stays as it is: it keeps its own state-dict keys."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, *args, **kwargs):
        return self.model(*args, **kwargs)

    def training_step(self, x, batch_idx):
        loss = self.model(x).pow(2).mean()
        self.log("train_loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)
        return loss

    def configure_optimizers(self):
        optimizer = torch.optim.SGD(self.model.parameters(), lr=0.1)
        return optimizer


lit_model = LitLinear(model)
trainer_2 = pl_2.Trainer(max_epochs=2)
trainer_2.fit(lit_model, train_dataloaders=loader)

print(pl, trainer["name"])

"""A full-batch loop in a script that binds no `torch`: the one-batch loader the conversion
generates needs it, so the conversion imports it."""

from torch import manual_seed, nn, tensor
import torch.nn.functional as F
from torch.optim import SGD
import torch
import pytorch_lightning as pl

manual_seed(0)
X = tensor([[1.0], [2.0], [3.0], [4.0]])
Y = tensor([[2.0], [4.0], [6.0], [8.0]])
model = nn.Linear(1, 1)


class LitLinear(pl.LightningModule):
    """Trains `model`, an nn.Module whose class stays as it is: it keeps its own state-dict keys."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, *args, **kwargs):
        return self.model(*args, **kwargs)

    def training_step(self, batch, batch_idx):
        loss = F.mse_loss(self.model(X.to(self.device)), Y.to(self.device))
        if self.current_epoch % 10 == 0:
            self.print(self.current_epoch, loss.item())
        self.log("train_loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)
        return loss

    def configure_optimizers(self):
        optimizer = SGD(self.model.parameters(), lr=0.01)
        return optimizer


lit_model = LitLinear(model)
step_loader = torch.utils.data.DataLoader([0], generator=torch.Generator())
trainer = pl.Trainer(max_epochs=50)
trainer.fit(lit_model, train_dataloaders=step_loader)

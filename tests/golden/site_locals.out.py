"""Locals of main() the loop needs, one of them bound by a `with` statement."""
import io

import torch
from torch import nn
import pytorch_lightning as pl


class LitLinear(pl.LightningModule):
    """Trains `model`, an nn.Module whose class stays as it is: it keeps its own state-dict keys."""

    def __init__(self, model, scale=0.5, banner=None):
        super().__init__()
        self.model = model
        self.save_hyperparameters(ignore=["model", "banner"])
        self.banner = banner

    def forward(self, *args, **kwargs):
        return self.model(*args, **kwargs)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = self.hparams.scale * nn.functional.mse_loss(self.model(x), y)
        if batch_idx == 0:
            self.print(self.banner, self.current_epoch, loss.item())
        self.log("train_loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)
        return loss

    def configure_optimizers(self):
        optimizer = torch.optim.SGD(self.model.parameters(), lr=0.1)
        return optimizer

    def predict_step(self, batch, batch_idx):
        x, y = batch
        return self(x)


def main():
    torch.manual_seed(1)
    with io.StringIO("note: tiny run\n") as handle:
        banner = handle.readline().strip()
    scale = 0.5
    data = torch.utils.data.TensorDataset(torch.randn(40, 3), torch.randn(40, 1))
    loader = torch.utils.data.DataLoader(data, batch_size=10, shuffle=True)
    model = nn.Linear(3, 1)
    lit_model = LitLinear(model, scale=scale, banner=banner)
    trainer = pl.Trainer(max_epochs=2)
    trainer.fit(lit_model, train_dataloaders=loader)


if __name__ == "__main__":
    main()

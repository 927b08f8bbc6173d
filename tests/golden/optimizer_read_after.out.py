"""The optimizer and the scheduler saved after training: after fit they are the trainer's (`trainer.optimizers[0]`)."""
import torch
from torch import nn
import pytorch_lightning as pl

torch.manual_seed(0)
model = nn.Linear(4, 1)
data = torch.utils.data.TensorDataset(torch.randn(32, 4), torch.randn(32, 1))
loader = torch.utils.data.DataLoader(data, batch_size=8, shuffle=True)


class LitLinear(pl.LightningModule):
    """Trains `model`, an nn.Module whose class stays as it is: it keeps its own state-dict keys."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, *args, **kwargs):
        return self.model(*args, **kwargs)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = nn.functional.mse_loss(self.model(x), y)
        self.log("train_loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)
        return loss

    def configure_optimizers(self):
        optimizer = torch.optim.SGD(self.model.parameters(), lr=0.1, momentum=0.9)
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"},
        }

    def predict_step(self, batch, batch_idx):
        x, y = batch
        return self(x)


lit_model = LitLinear(model)
trainer = pl.Trainer(max_epochs=2)
trainer.fit(lit_model, train_dataloaders=loader)
state = {"model": model.state_dict(), "optimizer": trainer.optimizers[0].state_dict(), "scheduler": trainer.lr_scheduler_configs[0].scheduler.state_dict()}
print(sorted(state["optimizer"]["state"]), state["scheduler"]["last_epoch"], trainer.optimizers[0].param_groups[0]["lr"])

"""Values the loop carries from before it: a timer, and a running step counter named like a
LightningModule attribute (global_step)."""
import time

import torch
from torch import nn
import pytorch_lightning as pl

torch.manual_seed(0)
model = nn.Linear(4, 1)
data = torch.utils.data.TensorDataset(torch.randn(32, 4), torch.randn(32, 1))
loader = torch.utils.data.DataLoader(data, batch_size=8, shuffle=True)
global_step = 0
prev_time = time.time()


class LitLinear(pl.LightningModule):
    """Trains `model`, an nn.Module whose class stays as it is: it keeps its own state-dict keys."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.global_step_ = 0

    def forward(self, *args, **kwargs):
        return self.model(*args, **kwargs)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = nn.functional.mse_loss(self.model(x), y)
        self.global_step_ += 1
        self.elapsed = time.time() - self.prev_time
        self.prev_time = time.time()
        self.log("train_loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)
        return loss

    def on_train_epoch_end(self):
        self.print("epoch", self.current_epoch, "steps", self.global_step_, "slow" if self.elapsed > 60 else "fast")

    def configure_optimizers(self):
        optimizer = torch.optim.SGD(self.model.parameters(), lr=0.1)
        return optimizer

    def predict_step(self, batch, batch_idx):
        x, y = batch
        return self(x)

    def on_save_checkpoint(self, checkpoint):
        # the loop's own state across epochs, so that a resumed run goes on from it
        checkpoint["loop_state"] = {"global_step": self.global_step_}

    def on_load_checkpoint(self, checkpoint):
        self.global_step_ = checkpoint["loop_state"]["global_step"]


lit_model = LitLinear(model)
lit_model.prev_time = prev_time
trainer = pl.Trainer(max_epochs=2)
trainer.fit(lit_model, train_dataloaders=loader)

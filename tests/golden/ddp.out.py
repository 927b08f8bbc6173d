"""Data-parallel training by hand: process group, DistributedSampler and DDP around the model.

Run with `torchrun --nproc_per_node=N ddp.in.py`.
"""
import os

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
import pytorch_lightning as pl


class LitSequential(pl.LightningModule):
    """Trains `model`, an nn.Module whose class stays as it is: it keeps its own state-dict keys."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, *args, **kwargs):
        return self.model(*args, **kwargs)

    def training_step(self, batch, batch_idx):
        x, y = batch
        self.loss = nn.functional.mse_loss(self.model(x), y)
        self.log("train_loss", self.loss, prog_bar=True, on_epoch=True, sync_dist=True)
        return self.loss

    def on_train_epoch_end(self):
        if self.local_rank == 0:
            self.print(f"epoch {self.current_epoch} loss {self.loss.item():.4f}")

    def configure_optimizers(self):
        optimizer = torch.optim.SGD(self.model.parameters(), lr=0.05)
        return optimizer

    def predict_step(self, batch, batch_idx):
        x, y = batch
        return self(x)


def main():
    torch.manual_seed(0)
    data = TensorDataset(torch.randn(96, 6), torch.randn(96, 1))
    loader = DataLoader(data, batch_size=12, shuffle=True)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 1))
    lit_model = LitSequential(model)
    trainer = pl.Trainer(
        max_epochs=3,
        strategy="ddp",
        devices=int(os.environ.get("LOCAL_WORLD_SIZE", os.environ.get("SLURM_NTASKS_PER_NODE", 1))),
        num_nodes=int(os.environ.get("SLURM_NNODES", int(os.environ.get("WORLD_SIZE", 1)) // int(os.environ.get("LOCAL_WORLD_SIZE", 1)))),
    )
    trainer.fit(lit_model, train_dataloaders=loader)


if __name__ == "__main__":
    main()

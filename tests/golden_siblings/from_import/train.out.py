"""Trains with the epoch loop here and the batch loop in engine.py, a common layout."""

import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from torch.nn import functional as F
from engine import LOG_EVERY
import os
import pytorch_lightning as pl


def make_data(n, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 8, generator=g)
    return TensorDataset(x, (x[:, 0] - x[:, 2] > 0).long())


class LitSequential(pl.LightningModule):
    """Trains `model`, an nn.Module whose class stays as it is: it keeps its own state-dict keys."""

    def __init__(self, model, lr=0.1):
        super().__init__()
        self.model = model
        self.save_hyperparameters(ignore=["model"])

    def forward(self, *args, **kwargs):
        return self.model(*args, **kwargs)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = F.cross_entropy(self.model(x), y)
        if batch_idx % LOG_EVERY == 0:
            self.print(f"epoch {self.current_epoch} step {batch_idx}: loss {loss.item():.4f}")
        self.log("train_loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)
        return loss

    def on_validation_epoch_start(self):
        self.correct = 0

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.correct += (self.model(x).argmax(1) == y).sum().item()

    def on_validation_epoch_end(self):
        if self.trainer.world_size > 1:  # the totals over all processes' batches
            self.correct = self.all_gather(self.correct).sum().item()
        accuracy = self.correct / len(self.trainer.val_dataloaders.dataset)
        self.print(f"epoch {self.current_epoch}: accuracy {accuracy:.3f}")
        self.log("val_accuracy", accuracy, sync_dist=True)

    def configure_optimizers(self):
        optimizer = torch.optim.SGD(self.model.parameters(), lr=self.hparams.lr)
        return optimizer

    def predict_step(self, batch, batch_idx):
        x, y = batch
        return self(x)

    def on_validation_model_zero_grad(self):
        """Lightning clears the gradients here; the loop kept the last batch's through evaluation."""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--accelerator", default="auto", help="Lightning accelerator: cpu, gpu, tpu, mps or auto")
    parser.add_argument("--devices", default=os.environ.get("LOCAL_WORLD_SIZE", "auto"), help="devices per node (default: torchrun's --nproc-per-node, else auto): a number, a list like 0,1, or auto")
    parser.add_argument("--num-nodes", type=int, default=int(os.environ.get("GROUP_WORLD_SIZE", 1)), help="machines to train on (default: torchrun's --nnodes, else 1)")
    parser.add_argument("--precision", default="32-true", help="32-true, 16-mixed, bf16-mixed...")
    args = parser.parse_args()
    torch.manual_seed(0)
    train_loader = DataLoader(make_data(128, 1), batch_size=16, shuffle=True)
    val_loader = DataLoader(make_data(64, 2), batch_size=16)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
    lit_model = LitSequential(model, lr=args.lr)
    trainer = pl.Trainer(
        max_epochs=args.epochs,
        num_sanity_val_steps=0,
        accelerator=args.accelerator,
        devices=args.devices,
        num_nodes=args.num_nodes,
        precision=args.precision,
    )
    trainer.fit(lit_model, train_dataloaders=train_loader, val_dataloaders=val_loader)
    model.eval()  # as the loop left it (Lightning restores the mode after evaluating)


if __name__ == "__main__":
    main()

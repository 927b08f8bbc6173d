"""Loaders built at module level, training under the main guard (pytorch/examples' VAE layout)."""
import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
import os
import pytorch_lightning as pl


class DataModule(pl.LightningDataModule):
    """The data the training reads: Lightning calls `setup` in each process, then asks the
    `*_dataloader` hooks for the loaders of `fit`, `validate`, `test` and `predict`."""

    def __init__(self, workers=0, batch_size=16, points=None):
        super().__init__()
        self.save_hyperparameters(ignore=["points"])
        self.points = points

    def setup(self, stage):
        self.kwargs = {"num_workers": self.hparams.workers}
        self.train_dataset = TensorDataset(self.points[:64])
        self.val_dataset = TensorDataset(self.points[64:])

    def train_dataloader(self):
        return DataLoader(self.train_dataset, batch_size=self.hparams.batch_size, shuffle=True, **self.kwargs)

    def val_dataloader(self):
        return DataLoader(self.val_dataset, batch_size=self.hparams.batch_size, **self.kwargs)

    def predict_dataloader(self):
        """What `trainer.predict` goes over: the batches `predict_step` unpacks."""
        return self.val_dataloader()


parser = argparse.ArgumentParser()
parser.add_argument("--batch-size", type=int, default=16)
parser.add_argument("--epochs", type=int, default=3)
parser.add_argument("--workers", type=int, default=0)
parser.add_argument("--accelerator", default="auto", help="Lightning accelerator: cpu, gpu, tpu, mps or auto")
parser.add_argument("--devices", default=os.environ.get("LOCAL_WORLD_SIZE", "auto"), help="devices per node (default: torchrun's --nproc-per-node, else auto): a number, a list like 0,1, or auto")
parser.add_argument("--num-nodes", type=int, default=int(os.environ.get("GROUP_WORLD_SIZE", 1)), help="machines to train on (default: torchrun's --nnodes, else 1)")
parser.add_argument("--precision", default="32-true", help="32-true, 16-mixed, bf16-mixed...")
args = parser.parse_args()

torch.manual_seed(3)
points = torch.randn(96, 6)
datamodule = DataModule(workers=args.workers, batch_size=args.batch_size, points=points)


class AutoEncoder(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.encode = nn.Linear(6, 2)
        self.decode = nn.Linear(2, 6)

    def forward(self, x):
        return self.decode(torch.relu(self.encode(x)))

    def on_train_epoch_start(self):
        self.total = 0.0

    def training_step(self, batch, batch_idx):
        x, = batch
        loss = nn.functional.mse_loss(self(x), x)
        self.total += loss.item()
        self.log("train_loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)
        return loss

    def on_train_batch_end(self, outputs, batch, batch_idx):
        if self.trainer.is_last_batch:
            # the training epoch's wrap-up: Lightning validates right after the last batch
            if self.trainer.world_size > 1:  # the totals over all processes' batches
                self.total = self.all_gather(self.total).sum().item()
            self.print(f"epoch {self.current_epoch + 1}: train loss {self.total / (self.trainer.num_training_batches * self.trainer.world_size):.4f}")

    def on_validation_epoch_start(self):
        self.test_total = 0.0

    def validation_step(self, batch, batch_idx):
        x, = batch
        self.test_total += nn.functional.mse_loss(self(x), x, reduction="sum").item()

    def on_validation_epoch_end(self):
        if self.trainer.world_size > 1:  # the totals over all processes' batches
            self.test_total = self.all_gather(self.test_total).sum().item()
        self.print(f"epoch {self.current_epoch + 1}: test loss {self.test_total / len(self.trainer.val_dataloaders.dataset):.4f}")
        self.log("val_loss", self.test_total / len(self.trainer.val_dataloaders.dataset), sync_dist=True)

    def configure_optimizers(self):
        optimizer = torch.optim.Adam(self.parameters(), lr=1e-2)
        return optimizer

    def predict_step(self, batch, batch_idx):
        x, = batch
        return self(x)

    def on_validation_model_zero_grad(self):
        """Lightning clears the gradients here; the loop kept the last batch's through evaluation."""


model = AutoEncoder()


if __name__ == "__main__":
    trainer = pl.Trainer(
        max_epochs=args.epochs,
        num_sanity_val_steps=0,
        accelerator=args.accelerator,
        devices=args.devices,
        num_nodes=args.num_nodes,
        precision=args.precision,
    )
    trainer.fit(model, datamodule=datamodule)
    model.eval()  # as the loop left it (Lightning restores the mode after evaluating)

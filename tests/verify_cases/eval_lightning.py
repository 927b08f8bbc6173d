"""eval_plain.py in Lightning, in three ways of evaluating (``--mode``):

* ``synced`` (the right way): sums kept as tensors, reduced across processes before printing
  (``self.trainer.strategy.reduce``), printed once (``self.print``), metrics logged with
  ``sync_dist=True``;
* ``per_shard``: Python numbers, plain ``print``, no ``sync_dist``: each process prints and logs
  its own half of the data (what a conversion gives when it keeps the plain loop's counters);
* ``twice``: reduced right but printed with ``print``: every process prints the line.

All three train and print exactly like eval_plain.py on one process."""

import argparse

import pytorch_lightning as pl
import torch
from torch import nn
from torch.nn import functional as F

from eval_plain import loaders


class Net(pl.LightningModule):
    def __init__(self, mode):
        super().__init__()
        self.mode = mode
        self.model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))

    def forward(self, x):
        return self.model(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        return F.cross_entropy(self(x), y)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)

    def zero_grad(self, set_to_none=True):
        """Lightning clears the gradients before it validates or tests; the plain loop keeps the
        last batch's, so they are cleared only when training starts."""
        if self._trainer is None or self.trainer.training:
            super().zero_grad(set_to_none)

    # -- evaluation, shared by validation and test -------------------------------------------
    def _start(self):
        if self.mode == "per_shard":
            self.loss_sum, self.correct = 0.0, 0
        else:
            self.loss_sum = torch.zeros((), dtype=torch.float64)
            self.correct = torch.zeros((), dtype=torch.long)

    def _step(self, batch, prefix):
        x, y = batch
        out = self(x)
        loss_sum = F.cross_entropy(out, y, reduction="sum")
        correct = (out.argmax(1) == y).sum()
        self.loss_sum += loss_sum.item()  # in double, in batch order, like the plain loop
        self.correct += correct if self.mode != "per_shard" else correct.item()
        sync = self.mode != "per_shard"
        self.log(f"{prefix}_loss", F.cross_entropy(out, y), sync_dist=sync)
        self.log(f"{prefix}_acc", correct / len(y), sync_dist=sync)

    def _end(self, what, n):
        loss_sum, correct = self.loss_sum, self.correct
        if self.mode != "per_shard":
            loss_sum = float(self.trainer.strategy.reduce(loss_sum, reduce_op="sum"))
            correct = int(self.trainer.strategy.reduce(correct, reduce_op="sum"))
        line = f"{what}: loss {loss_sum / n:.4f}, accuracy {correct}/{n}"
        if self.mode == "synced":
            self.print(line)
        else:
            print(line)

    def on_validation_epoch_start(self):
        self._start()

    def validation_step(self, batch, batch_idx):
        self._step(batch, "val")

    def on_validation_epoch_end(self):
        n = len(self.trainer.val_dataloaders.dataset)
        self._end(f"epoch {self.current_epoch} validation", n)

    def on_test_epoch_start(self):
        self._start()

    def test_step(self, batch, batch_idx):
        self._step(batch, "test")

    def on_test_epoch_end(self):
        self._end("test", len(self.trainer.test_dataloaders.dataset))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=("synced", "per_shard", "twice"), default="synced")
    args = parser.parse_args()
    train, val, test = loaders()
    model = Net(args.mode)
    trainer = pl.Trainer(
        max_epochs=2,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        num_sanity_val_steps=0,
    )
    trainer.fit(model, train, val)
    trainer.test(model, test)
    model.eval()  # where the plain loop's evaluation left it


if __name__ == "__main__":
    main()

"""eval_plain.py in Lightning, in three ways of evaluating (``--mode``):

* ``synced`` (the right way): sums kept as tensors, reduced across processes before printing
  (``self.trainer.strategy.reduce``), printed once (``self.print``), metrics logged with
  ``sync_dist=True``;
* ``per_shard``: Python numbers, plain ``print``, no ``sync_dist``: each process prints and logs
  its own half of the data (what a conversion gives when it keeps the plain loop's counters);
* ``twice``: reduced right but printed with ``print``: every process prints the line.

All three train and print exactly like eval_plain.py on one process. The training summary is
kept the same three ways. And ``--broken`` breaks a Lightning use that the plain script does not
have: ``predict`` (a predict_step that hands forward the whole batch), ``nopredict`` (no
predict_step: Lightning's own, which does the same), ``reload`` (a setting given
after construction, which a checkpoint does not restore), ``logged`` (the sum is logged, the mean
printed)."""

import argparse

import pytorch_lightning as pl
import torch
from torch import nn
from torch.nn import functional as F

from eval_plain import loaders


BROKEN: set[str] = set()


class Net(pl.LightningModule):
    def __init__(self, mode, scale=None):
        super().__init__()
        self.save_hyperparameters(ignore=["scale"] if "reload" in BROKEN else None)
        self.mode = mode
        self.scale = scale
        self.model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
        self.steps = 0

    def forward(self, x):
        return self.model(x)

    def on_train_epoch_start(self):
        self.running = 0.0 if self.mode == "per_shard" else torch.zeros((), dtype=torch.float64)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = F.cross_entropy(self(x), y)
        self.running += loss.item() * len(y)
        return loss

    def on_train_batch_end(self, outputs, batch, batch_idx):
        self.steps += 1
        if self.steps % 8 == 0:  # a step's line, whatever batch it falls on
            (self.print if self.mode == "synced" else print)(f"step {self.steps}")
        if not self.trainer.is_last_batch:  # the summary before validation, as the loop prints it
            return
        running = self.running
        if self.mode != "per_shard":
            running = float(self.trainer.strategy.reduce(running, reduce_op="sum"))
        n = len(self.trainer.train_dataloader.dataset)
        line = f"epoch {self.current_epoch} training: loss {running / n:.4f}"
        if self.mode == "synced":
            self.print(line)
        else:
            print(line)

    def predict_step(self, batch, batch_idx):
        if "predict" in BROKEN:  # Lightning's own: the whole (x, y) batch reaches forward
            return super().predict_step(batch, batch_idx)
        x, _ = batch
        return self(x)

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
        self.loss_sum += loss_sum.item() * self.scale  # in double, in batch order, as plain
        self.correct += correct if self.mode != "per_shard" else correct.item()
        sync = self.mode != "per_shard"
        logged = loss_sum if "logged" in BROKEN else F.cross_entropy(out, y)
        self.log(f"{prefix}_loss", logged, sync_dist=sync)
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
    parser.add_argument("--broken", default="")
    args = parser.parse_args()
    BROKEN.update(filter(None, args.broken.split(",")))
    if "nopredict" in BROKEN:  # none at all, as a conversion that cannot write one
        del Net.predict_step
    train, val, test = loaders()
    model = Net(args.mode, scale=None if "reload" in BROKEN else 1.0)
    if "reload" in BROKEN:
        model.scale = 1.0
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
    if trainer.is_global_zero or args.mode == "per_shard":  # per_shard: every process writes it
        torch.save(model.model.state_dict(), "model.pt")  # the same keys as the plain script


if __name__ == "__main__":
    main()

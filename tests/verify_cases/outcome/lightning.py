"""A faithful Lightning version of plain.py; its switches (environment variable UNFAITHFUL, any of
mode, grads, momentum, ema, file, missing) make it unfaithful in one way each."""

import copy
import os
import time
from datetime import datetime

import pytorch_lightning as pl
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

UNFAITHFUL = set(filter(None, os.environ.get("UNFAITHFUL", "").split(",")))


def make_data(n, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 6, generator=g)
    return TensorDataset(x, (x[:, 0] - x[:, 1] > 0).long())


class Net(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 16)
        self.bn = nn.BatchNorm1d(16, momentum=0.2 if "momentum" in UNFAITHFUL else 0.1)
        self.drop = nn.Dropout(0.3)
        self.fc2 = nn.Linear(16, 2)

    def forward(self, x):
        return self.fc2(self.drop(torch.relu(self.bn(self.fc1(x)))))

    def training_step(self, batch, batch_idx):
        x, y = batch
        return nn.functional.cross_entropy(self(x), y)

    def on_validation_model_zero_grad(self):
        if "grads" in UNFAITHFUL:
            super().on_validation_model_zero_grad()

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self(x)

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=0.01)


class EMA(pl.Callback):
    """The copy the plain loop averages after each step, outside the optimizer."""

    def __init__(self, ema):
        self.ema = ema

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        decay = 0.6 if "ema" in UNFAITHFUL else 0.5
        with torch.no_grad():
            for e, p in zip(self.ema.parameters(), module.parameters()):
                e.mul_(decay).add_(p, alpha=1 - decay)


def main():
    start = time.time()
    torch.manual_seed(0)
    train_loader = DataLoader(make_data(96, 1), batch_size=16, shuffle=True)
    val_loader = DataLoader(make_data(32, 2), batch_size=16)
    model = Net()
    ema = copy.deepcopy(model)
    trainer = pl.Trainer(
        max_epochs=2, num_sanity_val_steps=0, enable_progress_bar=False, callbacks=[EMA(ema)]
    )
    trainer.fit(model, train_loader, val_loader)
    if "mode" not in UNFAITHFUL:
        model.eval()
    time.sleep(1.5)  # a slower run: its clock lines differ
    print(f"finished at {datetime.now()}")
    print(f"Time elapsed: {(time.time() - start) / 60:.2f} min")
    if "missing" not in UNFAITHFUL:
        torch.save(model.state_dict(), "model.pt")
    torch.save(ema, "ema.pt")
    with torch.no_grad():
        scores = model(val_loader.dataset.tensors[0])[:, 1]
    with open("predictions.csv", "w") as f:
        f.writelines(f"{i},{s:.6f}\n" for i, s in enumerate(scores.tolist()))
    if "file" in UNFAITHFUL:
        with open("extra.txt", "w") as f:
            f.write("not in the original\n")


if __name__ == "__main__":
    main()

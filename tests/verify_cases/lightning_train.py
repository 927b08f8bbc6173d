"""A faithful hand-written Lightning version of plain_train.py (same data, model, optimizer,
seed), trained by a default ``Trainer``: sanity check, logger, checkpoints, progress bar."""

import argparse

import pytorch_lightning as pl
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def make_data(n, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 8, generator=g)
    y = (x[:, 0] + x[:, 1] > 0).long()
    return TensorDataset(x, y)


class Net(pl.LightningModule):
    def __init__(self, lr=0.05):
        super().__init__()
        self.save_hyperparameters()
        self.fc1 = nn.Linear(8, 32)
        self.drop = nn.Dropout(0.25)
        self.fc2 = nn.Linear(32, 2)

    def forward(self, x):
        return self.fc2(self.drop(torch.relu(self.fc1(x))))

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = nn.functional.cross_entropy(self(x), y)
        self.log("train_loss", loss)
        return loss

    def zero_grad(self, set_to_none=True):
        """Lightning clears the gradients before it validates or tests; the plain loop keeps the
        last batch's, so they are cleared only when training starts."""
        if self._trainer is None or self.trainer.training:
            super().zero_grad(set_to_none)

    def on_validation_epoch_start(self):
        self.correct = 0

    def validation_step(self, batch, batch_idx):
        x, y = batch
        correct = (self(x).argmax(1) == y).sum()
        self.correct += correct.item()
        self.log("val_acc", correct / 64.0, reduce_fx="sum")

    def on_validation_epoch_end(self):
        if self.trainer.sanity_checking:
            return
        # the plain loop prints after each epoch's training, then after its validation
        print(f"epoch {self.current_epoch}: loss {self.shown_loss():.4f}")
        print(f"epoch {self.current_epoch}: val accuracy {self.correct / 64:.3f}")

    def shown_loss(self):
        return self.trainer.callback_metrics["train_loss"]

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr, momentum=0.9)


def main(lr_scale=1.0, net_class=Net):
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=0.05)
    args = parser.parse_args()

    torch.manual_seed(1)
    train_loader = DataLoader(make_data(256, 1234), batch_size=16, shuffle=True)
    val_loader = DataLoader(make_data(64, 99), batch_size=32)
    model = net_class(lr=args.lr * lr_scale)
    trainer = pl.Trainer(max_epochs=args.epochs, accelerator="cpu")
    trainer.fit(model, train_loader, val_loader)
    model.eval()  # where the plain loop's last validation left it
    torch.save(model.state_dict(), "model.pt")


if __name__ == "__main__":
    main()

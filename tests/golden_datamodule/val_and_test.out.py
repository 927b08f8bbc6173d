"""Regression with a validation pass every epoch and a test pass once after training."""
import torch
import torch.nn as nn
import torch.optim as optim
from torch.utils.data import DataLoader, TensorDataset, random_split
import pytorch_lightning as pl


class Regressor(pl.LightningModule):
    def __init__(self, hidden=32, log_every=4):
        super().__init__()
        self.save_hyperparameters()
        self.criterion = nn.MSELoss()
        self.net = nn.Sequential(nn.Linear(8, hidden), nn.Tanh(), nn.Linear(hidden, 1))

    def forward(self, x):
        return self.net(x).squeeze(-1)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = self.criterion(self(x), y)
        if (batch_idx + 1) % self.hparams.log_every == 0:
            self.print(f"epoch {self.current_epoch + 1} step {batch_idx + 1}/{self.trainer.num_training_batches} loss {loss.item():.5f}")
        self.log("train_loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)
        return loss

    def on_validation_epoch_start(self):
        self.val_loss = 0.0

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.val_loss += self.criterion(self(x), y).item() * len(x)

    def on_validation_epoch_end(self):
        if self.trainer.world_size > 1:  # the totals over all processes' batches
            self.val_loss = self.all_gather(self.val_loss).sum().item()
        self.val_loss /= len(self.trainer.val_dataloaders.dataset)
        self.print(f"epoch {self.current_epoch + 1} validation loss {self.val_loss:.5f}")
        self.log("val_loss", self.val_loss, sync_dist=True)

    def on_test_epoch_start(self):
        self.total = 0.0

    def test_step(self, batch, batch_idx):
        inputs, targets = batch
        self.total += self.criterion(self(inputs), targets).item() * len(inputs)

    def on_test_epoch_end(self):
        if self.trainer.world_size > 1:  # the totals over all processes' batches
            self.total = self.all_gather(self.total).sum().item()
        self.print(f"test loss: {self.total / len(self.trainer.test_dataloaders.dataset):.5f}")
        self.log("test_loss", self.total / len(self.trainer.test_dataloaders.dataset), sync_dist=True)

    def configure_optimizers(self):
        optimizer = optim.Adam(self.parameters(), lr=0.01)
        return optimizer

    def predict_step(self, batch, batch_idx):
        x, y = batch
        return self(x)

    def on_validation_model_zero_grad(self):
        """Lightning clears the gradients here; the loop kept the last batch's through evaluation."""


def load_regressor(path):
    """Another call site of the model class: it must keep working after the conversion."""
    model = Regressor(hidden=16)
    model.load_state_dict(torch.load(path))
    return model


class DataModule(pl.LightningDataModule):
    """The data the training reads: Lightning calls `setup` in each process, then asks the
    `*_dataloader` hooks for the loaders of `fit`, `validate`, `test` and `predict`."""

    def __init__(self, train_set=None, val_set=None, test_set=None, batch_size=25):
        super().__init__()
        self.save_hyperparameters(ignore=["train_set", "val_set", "test_set"])
        self.train_set = train_set
        self.val_set = val_set
        self.test_set = test_set

    def train_dataloader(self):
        return DataLoader(self.train_set, batch_size=self.hparams.batch_size, shuffle=True)

    def val_dataloader(self):
        return DataLoader(self.val_set, batch_size=self.hparams.batch_size)

    def test_dataloader(self):
        return DataLoader(self.test_set, batch_size=self.hparams.batch_size)

    def predict_dataloader(self):
        """What `trainer.predict` goes over: the batches `predict_step` unpacks."""
        return self.val_dataloader()


def main():
    torch.manual_seed(42)
    inputs = torch.randn(400, 8)
    targets = inputs @ torch.linspace(-1, 1, 8) + 0.1 * torch.randn(400)
    train_set, val_set, test_set = random_split(TensorDataset(inputs, targets), [300, 50, 50])
    datamodule = DataModule(train_set=train_set, val_set=val_set, test_set=test_set)

    log_every = 4  # batches between progress lines
    model = Regressor(hidden=16, log_every=log_every)

    trainer = pl.Trainer(max_epochs=3, num_sanity_val_steps=0)
    trainer.fit(model, datamodule=datamodule)
    model.eval()  # as the loop left it (Lightning restores the mode after evaluating)

    grads = [p.grad for p in model.parameters()]  # trainer.test clears them as it starts
    trainer.test(model, datamodule=datamodule)
    for parameter, grad in zip(model.parameters(), grads):
        parameter.grad = grad  # as the loop's test left them
    if trainer.is_global_zero:
        torch.save(model.state_dict(), "regressor.pt")
    trainer.strategy.barrier()  # the other processes wait for the file
    print("reloaded:", load_regressor("regressor.pt").net[0].out_features)


if __name__ == "__main__":
    main()

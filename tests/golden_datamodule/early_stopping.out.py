"""Validation every epoch, the best model saved by hand, and early stopping by a patience counter."""
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
import pytorch_lightning as pl


class DataModule(pl.LightningDataModule):
    """The data the training reads: Lightning calls `setup` in each process, then asks the
    `*_dataloader` hooks for the loaders of `fit`, `validate`, `test` and `predict`."""

    def __init__(self, features=None, labels=None, batch_size=20):
        super().__init__()
        self.save_hyperparameters(ignore=["features", "labels"])
        self.features = features
        self.labels = labels

    def setup(self, stage):
        self.train_dataset = TensorDataset(self.features[:200], self.labels[:200])
        self.val_dataset = TensorDataset(self.features[200:], self.labels[200:])

    def train_dataloader(self):
        return DataLoader(self.train_dataset, batch_size=self.hparams.batch_size, shuffle=True)

    def val_dataloader(self):
        return DataLoader(self.val_dataset, batch_size=self.hparams.batch_size)

    def predict_dataloader(self):
        """What `trainer.predict` goes over: the batches `predict_step` unpacks."""
        return self.val_dataloader()


torch.manual_seed(7)
features = torch.randn(240, 5)
labels = features @ torch.randn(5) + 0.3 * torch.randn(240)
datamodule = DataModule(features=features, labels=labels)

model = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 1), nn.Flatten(0))
criterion = nn.MSELoss()

best_val = float("inf")
patience, bad_epochs = 2, 0


class LitSequential(pl.LightningModule):
    """Trains `model`, an nn.Module whose class stays as it is: it keeps its own state-dict keys."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.bad_epochs = 0
        self.best_val = float("inf")

    def forward(self, *args, **kwargs):
        return self.model(*args, **kwargs)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = criterion(self.model(x), y)
        self.log("train_loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)
        return loss

    def on_validation_epoch_start(self):
        self.val_loss = 0.0

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.val_loss += criterion(self.model(x), y).item()

    def on_validation_epoch_end(self):
        if self.trainer.world_size > 1:  # the totals over all processes' batches
            self.val_loss = self.all_gather(self.val_loss).sum().item()
        self.val_loss /= len(self.trainer.val_dataloaders) * self.trainer.world_size
        self.print(f"epoch {self.current_epoch}: validation loss {self.val_loss:.4f}")
        self.log("val_loss", self.val_loss, sync_dist=True)

        if self.trainer.state.fn == "fit" and not self.trainer.sanity_checking:
            # the rest of the training epoch, which reads this validation's results
            if self.val_loss < self.best_val:
                self.best_val = self.val_loss
                self.bad_epochs = 0
                if self.trainer.is_global_zero:
                    torch.save(self.model.state_dict(), "best.pt")
            else:
                self.bad_epochs += 1
                if self.bad_epochs >= patience:
                    self.print("early stopping at epoch", self.current_epoch)
                    self.trainer.should_stop = True

    def configure_optimizers(self):
        optimizer = torch.optim.SGD(self.model.parameters(), lr=0.05, momentum=0.9)
        return optimizer

    def predict_step(self, batch, batch_idx):
        x, y = batch
        return self(x)

    def on_validation_model_zero_grad(self):
        """Lightning clears the gradients here; the loop kept the last batch's through evaluation."""

    def on_save_checkpoint(self, checkpoint):
        # the loop's own state across epochs, so that a resumed run goes on from it
        checkpoint["loop_state"] = {"bad_epochs": self.bad_epochs, "best_val": self.best_val}

    def on_load_checkpoint(self, checkpoint):
        self.bad_epochs = checkpoint["loop_state"]["bad_epochs"]
        self.best_val = checkpoint["loop_state"]["best_val"]


lit_model = LitSequential(model)
trainer = pl.Trainer(max_epochs=30, num_sanity_val_steps=0)
trainer.fit(lit_model, datamodule=datamodule)
model.eval()  # as the loop left it (Lightning restores the mode after evaluating)

if trainer.is_global_zero:
    torch.save(model.state_dict(), "last.pt")

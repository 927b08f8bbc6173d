"""The "engine" layout many courses teach: train() holds the epoch loop and calls train_step()
and test_step() each epoch; the script builds each model and its optimizer, then trains two of
them with it, keeping each run's results. Each call takes the place of its function (the model
and optimizer are the caller's), and each run becomes its own Trainer run."""
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
import pytorch_lightning as pl

torch.manual_seed(0)
x = torch.randn(96, 8)
y = (x[:, 0] + x[:, 1] > 0).long()
train_loader = DataLoader(TensorDataset(x[:64], y[:64]), batch_size=16, shuffle=True)
test_loader = DataLoader(TensorDataset(x[64:], y[64:]), batch_size=16)


class Net(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(8, hidden), nn.ReLU(), nn.Linear(hidden, 2))

    def forward(self, x):
        return self.layers(x)


def test_step(model, loader, loss_fn):
    model.eval()
    test_loss, test_acc = 0.0, 0.0
    with torch.inference_mode():
        for X, y in loader:
            y_pred = model(X)
            test_loss += loss_fn(y_pred, y).item()
            test_acc += (y_pred.argmax(1) == y).sum().item() / len(y_pred)
    return test_loss / len(loader), test_acc / len(loader)


class LitNet(pl.LightningModule):
    """Trains `model`, an nn.Module whose class stays as it is: it keeps its own state-dict keys."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, *args, **kwargs):
        return self.model(*args, **kwargs)

    def on_train_epoch_start(self):
        self.train_loss, self.train_acc = 0.0, 0.0

    def training_step(self, batch, batch_idx):
        X, y = batch
        y_pred = self.model(X)
        loss = train_loss_fn(y_pred, y)
        self.train_loss += loss.item()
        self.train_acc += (y_pred.argmax(1) == y).sum().item() / len(y_pred)
        self.log("train_loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)
        return loss

    def on_train_batch_end(self, outputs, batch, batch_idx):
        if self.trainer.is_last_batch:
            # the training epoch's wrap-up: Lightning validates right after the last batch
            if self.trainer.world_size > 1:  # the totals over all processes' batches
                self.train_loss = self.all_gather(self.train_loss).sum().item()
                self.train_acc = self.all_gather(self.train_acc).sum().item()
            self.train_loss, self.train_acc = self.train_loss / (self.trainer.num_training_batches * self.trainer.world_size), self.train_acc / (self.trainer.num_training_batches * self.trainer.world_size)

    def on_validation_epoch_start(self):
        self.test_loss, self.test_acc = 0.0, 0.0

    def validation_step(self, batch, batch_idx):
        X, y = batch
        y_pred = self.model(X)
        self.test_loss += train_loss_fn(y_pred, y).item()
        self.test_acc += (y_pred.argmax(1) == y).sum().item() / len(y_pred)

    def on_validation_epoch_end(self):
        if self.trainer.world_size > 1:  # the totals over all processes' batches
            self.test_loss = self.all_gather(self.test_loss).sum().item()
            self.test_acc = self.all_gather(self.test_acc).sum().item()
        self.test_loss, self.test_acc = self.test_loss / (len(self.trainer.val_dataloaders) * self.trainer.world_size), self.test_acc / (len(self.trainer.val_dataloaders) * self.trainer.world_size)
        self.log("val_loss", self.test_loss, sync_dist=True)
        self.log("val_acc", self.test_acc, sync_dist=True)

        if self.trainer.state.fn == "fit" and not self.trainer.sanity_checking:
            # the rest of the training epoch, which reads this validation's results
            self.print(f"epoch {self.current_epoch}: train {self.train_loss:.4f} {self.train_acc:.2f}, test {self.test_loss:.4f} {self.test_acc:.2f}")
            results["train_loss"].append(self.train_loss)
            results["test_acc"].append(self.test_acc)

    def configure_optimizers(self):
        optimizer = torch.optim.SGD(self.model.parameters(), lr=0.1)
        return optimizer

    def predict_step(self, batch, batch_idx):
        X, y = batch
        return self(X)

    def on_validation_model_zero_grad(self):
        """Lightning clears the gradients here; the loop kept the last batch's through evaluation."""


class LitNet_2(pl.LightningModule):
    """Trains `model`, an nn.Module whose class stays as it is: it keeps its own state-dict keys."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, *args, **kwargs):
        return self.model(*args, **kwargs)

    def on_train_epoch_start(self):
        self.train_loss, self.train_acc = 0.0, 0.0

    def training_step(self, batch, batch_idx):
        X, y = batch
        y_pred = self.model(X)
        loss = train_loss_fn(y_pred, y)
        self.train_loss += loss.item()
        self.train_acc += (y_pred.argmax(1) == y).sum().item() / len(y_pred)
        self.log("train_loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)
        return loss

    def on_train_batch_end(self, outputs, batch, batch_idx):
        if self.trainer.is_last_batch:
            # the training epoch's wrap-up: Lightning validates right after the last batch
            if self.trainer.world_size > 1:  # the totals over all processes' batches
                self.train_loss = self.all_gather(self.train_loss).sum().item()
                self.train_acc = self.all_gather(self.train_acc).sum().item()
            self.train_loss, self.train_acc = self.train_loss / (self.trainer.num_training_batches * self.trainer.world_size), self.train_acc / (self.trainer.num_training_batches * self.trainer.world_size)

    def on_validation_epoch_start(self):
        self.test_loss, self.test_acc = 0.0, 0.0

    def validation_step(self, batch, batch_idx):
        X, y = batch
        y_pred = self.model(X)
        self.test_loss += train_loss_fn(y_pred, y).item()
        self.test_acc += (y_pred.argmax(1) == y).sum().item() / len(y_pred)

    def on_validation_epoch_end(self):
        if self.trainer.world_size > 1:  # the totals over all processes' batches
            self.test_loss = self.all_gather(self.test_loss).sum().item()
            self.test_acc = self.all_gather(self.test_acc).sum().item()
        self.test_loss, self.test_acc = self.test_loss / (len(self.trainer.val_dataloaders) * self.trainer.world_size), self.test_acc / (len(self.trainer.val_dataloaders) * self.trainer.world_size)
        self.log("val_loss", self.test_loss, sync_dist=True)
        self.log("val_acc", self.test_acc, sync_dist=True)

        if self.trainer.state.fn == "fit" and not self.trainer.sanity_checking:
            # the rest of the training epoch, which reads this validation's results
            self.print(f"epoch {self.current_epoch}: train {self.train_loss:.4f} {self.train_acc:.2f}, test {self.test_loss:.4f} {self.test_acc:.2f}")
            results["train_loss"].append(self.train_loss)
            results["test_acc"].append(self.test_acc)

    def configure_optimizers(self):
        optimizer = torch.optim.Adam(self.model.parameters(), lr=0.01)
        return optimizer

    def predict_step(self, batch, batch_idx):
        X, y = batch
        return self(X)

    def on_validation_model_zero_grad(self):
        """Lightning clears the gradients here; the loop kept the last batch's through evaluation."""


train_loss_fn = nn.CrossEntropyLoss()


model_0 = Net(16)
epochs = 2
results = {"train_loss": [], "test_acc": []}
lit_model_0 = LitNet(model_0)
trainer = pl.Trainer(max_epochs=epochs)
trainer.fit(lit_model_0, train_dataloaders=train_loader, val_dataloaders=test_loader)
model_0.eval()  # as the loop left it (Lightning restores the mode after evaluating)
model_0_results = results

model_1 = Net(32)
epochs = 3
results = {"train_loss": [], "test_acc": []}
lit_model_1 = LitNet_2(model_1)
trainer = pl.Trainer(max_epochs=epochs)
trainer.fit(lit_model_1, train_dataloaders=train_loader, val_dataloaders=test_loader)
model_1.eval()  # as the loop left it (Lightning restores the mode after evaluating)
model_1_results = results
print(model_0_results["test_acc"][-1], round(model_1_results["train_loss"][-1], 4))

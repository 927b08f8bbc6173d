"""A patience counter on the validation loss, and nothing else in the check: EarlyStopping."""
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
import pytorch_lightning as pl

torch.manual_seed(11)
features = torch.randn(200, 5)
labels = features @ torch.randn(5) + 0.3 * torch.randn(200)
train_loader = DataLoader(TensorDataset(features[:160], labels[:160]), batch_size=16, shuffle=True)
val_loader = DataLoader(TensorDataset(features[160:], labels[160:]), batch_size=20)

model = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 1), nn.Flatten(0))
criterion = nn.MSELoss()
patience, bad_epochs = 2, 0


class LitSequential(pl.LightningModule):
    """Trains `model`, an nn.Module whose class stays as it is: it keeps its own state-dict keys."""

    def __init__(self, model):
        super().__init__()
        self.model = model

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
        self.log("val_loss", torch.as_tensor(self.val_loss, dtype=torch.float64), sync_dist=True)

    def configure_optimizers(self):
        optimizer = torch.optim.SGD(self.model.parameters(), lr=0.05, momentum=0.9)
        return optimizer

    def predict_step(self, batch, batch_idx):
        x, y = batch
        return self(x)

    def on_validation_model_zero_grad(self):
        """Lightning clears the gradients here; the loop kept the last batch's through evaluation."""


lit_model = LitSequential(model)
trainer = pl.Trainer(
    max_epochs=40,
    num_sanity_val_steps=0,
    callbacks=[pl.callbacks.EarlyStopping(monitor="val_loss", mode="min", patience=patience, check_finite=False)],
)
trainer.fit(lit_model, train_dataloaders=train_loader, val_dataloaders=val_loader)
model.eval()  # as the loop left it (Lightning restores the mode after evaluating)

"""Validation every 5 batches, in the middle of the epoch, by a function that the loop calls."""
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
import pytorch_lightning as pl


class Tagger(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(8, 24), nn.ReLU(), nn.Dropout(0.3), nn.Linear(24, 3))

    def forward(self, x):
        return self.body(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = nn.functional.cross_entropy(self(x), y)
        self.log("train_loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)
        return loss

    def on_validation_epoch_start(self):
        self.correct = 0

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.correct += (self(x).argmax(1) == y).sum().item()

    def on_validation_epoch_end(self):
        if self.trainer.world_size > 1:  # the totals over all processes' batches
            self.correct = self.all_gather(self.correct).sum().item()
        self.print(f"validation accuracy {self.correct / len(self.trainer.val_dataloaders.dataset):.3f}")
        self.log("val_accuracy", self.correct / len(self.trainer.val_dataloaders.dataset), sync_dist=True)

    def configure_optimizers(self):
        optimizer = torch.optim.Adam(self.parameters(), lr=1e-3)
        return optimizer

    def predict_step(self, batch, batch_idx):
        x, y = batch
        return self(x)

    def on_validation_model_zero_grad(self):
        """Lightning clears the gradients here; the loop kept the last batch's through evaluation."""


def main():
    torch.manual_seed(4)
    train_set = TensorDataset(torch.randn(192, 8), torch.randint(0, 3, (192,)))
    val_set = TensorDataset(torch.randn(48, 8), torch.randint(0, 3, (48,)))
    train_loader = DataLoader(train_set, batch_size=16, shuffle=True)
    val_loader = DataLoader(val_set, batch_size=16, shuffle=True)
    model = Tagger()
    trainer = pl.Trainer(max_epochs=2, num_sanity_val_steps=0, val_check_interval=5)
    trainer.fit(model, train_dataloaders=train_loader, val_dataloaders=val_loader)


if __name__ == "__main__":
    main()

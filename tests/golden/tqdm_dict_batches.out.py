"""Dict batches through tqdm, a per-batch OneCycleLR, gradient clipping, and an evaluation
function decorated with @torch.no_grad()."""
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
import pytorch_lightning as pl


class Pairs(Dataset):
    def __init__(self, n):
        g = torch.Generator().manual_seed(n)
        self.features = torch.randn(n, 6, generator=g)
        self.labels = (self.features[:, 0] > 0).long()

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return {"features": self.features[i], "label": self.labels[i]}


class Classifier(pl.LightningModule):
    def __init__(self, epochs=3):
        super().__init__()
        self.save_hyperparameters()
        self.layers = nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 2))

    def forward(self, features):
        return self.layers(features)

    def training_step(self, batch, batch_idx):
        loss = nn.functional.cross_entropy(self(batch["features"]), batch["label"])
        self.log("train_loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)
        return loss

    def on_validation_epoch_start(self):
        self.correct = 0

    def validation_step(self, batch, batch_idx):
        logits = self(batch["features"])
        self.correct += (logits.argmax(dim=1) == batch["label"]).sum().item()

    def on_validation_epoch_end(self):
        if self.trainer.world_size > 1:  # the totals over all processes' batches
            self.correct = self.all_gather(self.correct).sum().item()
        self.print(f"accuracy {self.correct / len(self.trainer.val_dataloaders.dataset):.3f}")
        self.log("val_accuracy", self.correct / len(self.trainer.val_dataloaders.dataset), sync_dist=True)

    def configure_optimizers(self):
        optimizer = torch.optim.AdamW(self.parameters(), lr=3e-3, weight_decay=0.01)
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=1e-2, total_steps=self.trainer.estimated_stepping_batches
        )
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }

    def predict_step(self, batch, batch_idx):
        return self(batch["features"])

    def on_validation_model_zero_grad(self):
        """Lightning clears the gradients here; the loop kept the last batch's through evaluation."""


def main():
    torch.manual_seed(3)
    train_loader = DataLoader(Pairs(256), batch_size=32, shuffle=True)
    val_loader = DataLoader(Pairs(64), batch_size=32)
    epochs = 3
    model = Classifier(epochs=epochs)
    trainer = pl.Trainer(max_epochs=epochs, num_sanity_val_steps=0, gradient_clip_val=1.0)
    trainer.fit(model, train_dataloaders=train_loader, val_dataloaders=val_loader)
    model.eval()  # as the loop left it (Lightning restores the mode after evaluating)


if __name__ == "__main__":
    main()

"""An evaluation after training that never calls model.eval(), of a model with dropout and batch
norm: trainer.test would run it in eval mode, so it stays plain code after fit, where it computes
what the original did (dropout on, batch statistics updated)."""
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
import pytorch_lightning as pl

torch.manual_seed(0)
x = torch.randn(96, 8)
y = (x[:, 0] > 0).long()
train_loader = DataLoader(TensorDataset(x[:64], y[:64]), batch_size=16, shuffle=True)
test_loader = DataLoader(TensorDataset(x[64:], y[64:]), batch_size=16)


class MLP(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.2), nn.BatchNorm1d(16), nn.Linear(16, 2)
        )

    def forward(self, x):
        return self.net(x)

    def training_step(self, batch, batch_idx):
        features, labels = batch
        loss = nn.functional.cross_entropy(self(features), labels)
        self.log("train_loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)
        return loss

    def configure_optimizers(self):
        optimizer = torch.optim.Adam(self.parameters(), lr=0.01)
        return optimizer

    def predict_step(self, batch, batch_idx):
        features, labels = batch
        return self(features)


def accuracy(model, loader):
    with torch.no_grad():
        correct, total = 0, 0
        for features, labels in loader:
            correct += (model(features).argmax(1) == labels).sum().item()
            total += labels.size(0)
        return correct / total


model = MLP()
trainer = pl.Trainer(max_epochs=3)
trainer.fit(model, train_dataloaders=train_loader)

test_accuracy = accuracy(model, test_loader)
print(f"test accuracy: {test_accuracy:.4f}")

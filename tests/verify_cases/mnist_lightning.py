"""mnist_plain.py by hand in Lightning (the ``lightning`` package), holding the model."""

import lightning.pytorch as pl
import torch
from torch import nn
from torch.utils.data import DataLoader
from torchvision import datasets, transforms


class Classifier(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.model = nn.Sequential(
            nn.Flatten(), nn.Linear(28 * 28, 64), nn.ReLU(), nn.Dropout(0.2), nn.Linear(64, 10)
        )

    def forward(self, x):
        return self.model(x)

    def training_step(self, batch, batch_idx):
        images, labels = batch
        self.loss = nn.functional.cross_entropy(self(images), labels)
        return self.loss

    def on_train_epoch_end(self):
        print(f"epoch {self.current_epoch}: loss {self.loss.item():.4f}")

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=1e-3)


torch.manual_seed(7)
transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
train_set = datasets.MNIST(root="/nonexistent", train=True, download=True, transform=transform)
loader = DataLoader(train_set, batch_size=64, shuffle=True)
trainer = pl.Trainer(
    max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False
)
trainer.fit(Classifier(), loader)

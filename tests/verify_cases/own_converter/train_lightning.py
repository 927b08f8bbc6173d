"""train.py in Lightning, importing the same sibling ``converter`` module."""

import pytorch_lightning as pl
import torch
from converter import learning_rate
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class Net(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(4, 1)

    def training_step(self, batch, batch_idx):
        x, y = batch
        self.loss = nn.functional.mse_loss(self.layer(x), y)
        return self.loss

    def on_train_epoch_end(self):
        print(f"epoch {self.current_epoch}: loss {self.loss.item():.4f}")

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=learning_rate(0.2))


torch.manual_seed(0)
x, y = torch.randn(64, 4), torch.randn(64, 1)
model = Net()
trainer = pl.Trainer(max_epochs=2, logger=False, enable_checkpointing=False)
trainer.fit(model, DataLoader(TensorDataset(x, y), batch_size=16))

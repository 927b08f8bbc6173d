"""Udacity's intro-to-pytorch loop: the epoch report in the batch loop's `else:` (no `break`,
so it runs after every epoch's batches) becomes on_train_epoch_end."""
import torch
from torch import nn, optim
import pytorch_lightning as pl

torch.manual_seed(0)
data = torch.utils.data.TensorDataset(torch.randn(64, 4), (torch.randn(64) > 0).long())
trainloader = torch.utils.data.DataLoader(data, batch_size=16, shuffle=True)
model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2), nn.LogSoftmax(dim=1))
criterion = nn.NLLLoss()

epochs = 3


class LitSequential(pl.LightningModule):
    """Trains `model`, an nn.Module whose class stays as it is: it keeps its own state-dict keys."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, *args, **kwargs):
        return self.model(*args, **kwargs)

    def on_train_epoch_start(self):
        self.running_loss = 0

    def training_step(self, batch, batch_idx):
        images, labels = batch
        output = self.model(images)
        loss = criterion(output, labels)
        self.running_loss += loss.item()
        self.log("train_loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)
        return loss

    def on_train_epoch_end(self):
        if self.trainer.world_size > 1:  # the totals over all processes' batches
            self.running_loss = self.all_gather(self.running_loss).sum().item()
        self.print(f"Training loss: {self.running_loss/(self.trainer.num_training_batches * self.trainer.world_size)}")

    def configure_optimizers(self):
        optimizer = optim.SGD(self.model.parameters(), lr=0.003)
        return optimizer

    def predict_step(self, batch, batch_idx):
        images, labels = batch
        return self(images)


lit_model = LitSequential(model)
trainer = pl.Trainer(max_epochs=epochs)
trainer.fit(lit_model, train_dataloaders=trainloader)

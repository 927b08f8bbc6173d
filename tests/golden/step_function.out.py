"""A step function called from the batch loop (`loss = train(x, y)`), as sequence-model tutorials write it: its body runs in training_step, what it returns is assigned as the loop did."""
import torch
from torch import nn
import pytorch_lightning as pl

torch.manual_seed(0)
model = nn.Linear(4, 1)
criterion = nn.MSELoss()
data = torch.utils.data.TensorDataset(torch.randn(32, 4), torch.randn(32, 1))
loader = torch.utils.data.DataLoader(data, batch_size=8, shuffle=True)


class LitLinear(pl.LightningModule):
    """Trains `model`, an nn.Module whose class stays as it is: it keeps its own state-dict keys."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, *args, **kwargs):
        return self.model(*args, **kwargs)

    def on_train_epoch_start(self):
        self.total = 0.0

    def training_step(self, batch, batch_idx):
        x, y = batch
        output = self.model(x)
        err = criterion(output, y)
        loss = err.item()
        self.total += loss
        self.log("train_loss", err, prog_bar=True, on_epoch=True, sync_dist=True)
        return err

    def on_train_epoch_end(self):
        if self.trainer.world_size > 1:  # the totals over all processes' batches
            self.total = self.all_gather(self.total).sum().item()
        self.print(self.current_epoch, round(self.total, 4))

    def configure_optimizers(self):
        optimizer = torch.optim.SGD(self.model.parameters(), lr=0.1)
        return optimizer

    def predict_step(self, batch, batch_idx):
        x, y = batch
        return self(x)


lit_model = LitLinear(model)
trainer = pl.Trainer(max_epochs=3)
trainer.fit(lit_model, train_dataloaders=loader)

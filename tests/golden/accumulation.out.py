"""Gradient accumulation by hand: the loss is scaled and the optimizer steps every 4 batches."""
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
import pytorch_lightning as pl

torch.manual_seed(5)
data = TensorDataset(torch.randn(88, 10), torch.randint(0, 3, (88,)))
loader = DataLoader(data, batch_size=8, shuffle=True)  # 11 batches: the last window is short

model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 3))
accumulation_steps = 4


class LitSequential(pl.LightningModule):
    """Trains `model`, an nn.Module whose class stays as it is: it keeps its own state-dict keys."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.automatic_optimization = False  # the loop steps its optimizers by hand

    def forward(self, *args, **kwargs):
        return self.model(*args, **kwargs)

    def on_train_epoch_start(self):
        self.optimizers().zero_grad()

    def training_step(self, batch, batch_idx):
        optimizer = self.optimizers()
        x, y = batch
        self.loss = nn.functional.cross_entropy(self.model(x), y) / accumulation_steps
        self.manual_backward(self.loss)
        self.log("loss", self.loss, prog_bar=True)
        if (batch_idx + 1) % accumulation_steps == 0:
            nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
            optimizer.step()
            optimizer.zero_grad()

    def on_train_epoch_end(self):
        self.print("epoch", self.current_epoch, "last loss", self.loss.item() * accumulation_steps)

    def configure_optimizers(self):
        optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        return optimizer

    def predict_step(self, batch, batch_idx):
        x, y = batch
        return self(x)


lit_model = LitSequential(model)
trainer = pl.Trainer(max_epochs=3)
trainer.fit(lit_model, train_dataloaders=loader)

"""An RNN regressor with gradient clipping by value and a StepLR every epoch."""
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
import pytorch_lightning as pl

torch.manual_seed(9)
sequences = torch.randn(128, 10, 3)
targets = sequences.sum(dim=(1, 2)).unsqueeze(1) / 10
loader = DataLoader(TensorDataset(sequences, targets), batch_size=16, shuffle=True)


class SequenceRegressor(pl.LightningModule):
    def __init__(self, hidden=24):
        super().__init__()
        self.save_hyperparameters()
        self.rnn = nn.GRU(3, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x):
        output, _ = self.rnn(x)
        return self.head(output[:, -1])

    def on_train_epoch_start(self):
        self.total = 0.0

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = criterion(self(x), y)
        self.total += loss.item()
        self.log("train_loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)
        return loss

    def on_train_epoch_end(self):
        if self.trainer.world_size > 1:  # the totals over all processes' batches
            self.total = self.all_gather(self.total).sum().item()
        self.print(f"epoch {self.current_epoch}: mean loss {self.total / (self.trainer.num_training_batches * self.trainer.world_size):.4f}, lr {self.lr_schedulers().get_last_lr()[0]}")

    def configure_optimizers(self):
        optimizer = torch.optim.RMSprop(self.parameters(), lr=0.01)
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"},
        }

    def predict_step(self, batch, batch_idx):
        x, y = batch
        return self(x)


model = SequenceRegressor()
criterion = nn.SmoothL1Loss()

trainer = pl.Trainer(max_epochs=4, gradient_clip_val=0.5, gradient_clip_algorithm="value")
trainer.fit(model, train_dataloaders=loader)

if trainer.is_global_zero:
    torch.save(model.state_dict(), "rnn.pt")

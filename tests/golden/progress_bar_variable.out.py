"""A tqdm bar held in a variable and updated by hand, and the batch index read after its loop: the loop iterates the loader, the bar statements go (Lightning draws its own)."""

import torch
from torch import nn
import pytorch_lightning as pl

model = nn.Linear(4, 3)
data = torch.utils.data.TensorDataset(torch.randn(32, 4), torch.randint(0, 3, (32,)))
loader = torch.utils.data.DataLoader(data, batch_size=8, shuffle=True)
val_loader = torch.utils.data.DataLoader(data, batch_size=8)


class LitLinear(pl.LightningModule):
    """Trains `model`, an nn.Module whose class stays as it is: it keeps its own state-dict keys."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, *args, **kwargs):
        return self.model(*args, **kwargs)

    def on_train_epoch_start(self):
        self.running_loss = 0.0

    def training_step(self, batch, batch_idx):
        x, y = batch
        self.step = batch_idx
        loss = nn.functional.cross_entropy(self.model(x), y)
        self.running_loss += loss.item()
        self.log("train_loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)
        return loss

    def on_validation_epoch_start(self):
        self.acc = 0.0

    def validation_step(self, batch, batch_idx):
        val_x, val_y = batch
        self.acc += (self.model(val_x).argmax(1) == val_y).sum().item()

    def on_validation_epoch_end(self):
        if self.trainer.world_size > 1:  # the totals over all processes' batches
            self.acc = self.all_gather(self.acc).sum().item()

        if self.trainer.state.fn == "fit" and not self.trainer.sanity_checking:
            # the rest of the training epoch, which reads this validation's results
            self.print("[epoch %d] train_loss: %.3f  val_accuracy: %.3f" % (self.current_epoch + 1, self.running_loss / (self.step + 1), self.acc / 32))
            self.log("val_accuracy", self.acc / 32, sync_dist=True)

    def configure_optimizers(self):
        optimizer = torch.optim.SGD(self.model.parameters(), lr=0.1)
        return optimizer

    def predict_step(self, batch, batch_idx):
        val_x, val_y = batch
        return self(val_x)

    def on_validation_model_zero_grad(self):
        """Lightning clears the gradients here; the loop kept the last batch's through evaluation."""


lit_model = LitLinear(model)
trainer = pl.Trainer(max_epochs=3)
trainer.fit(lit_model, train_dataloaders=loader, val_dataloaders=val_loader)
model.eval()  # as the loop left it (Lightning restores the mode after evaluating)

"""A full-batch loop (one step a round) that stops once the accuracy it checks every 5 rounds is
high enough: the `break` ends the round, so it becomes `self.trainer.should_stop = True`. Its
targets come from a comparison (a tensor): the hooks read them on the module's device."""
import torch
from torch import nn
import pytorch_lightning as pl

torch.manual_seed(0)
x = torch.randn(64, 2)
y = (x[:, 0] + x[:, 1] > 0).float()
model = nn.Linear(2, 1)
loss_fn = nn.BCEWithLogitsLoss()


class LitLinear(pl.LightningModule):
    """Trains `model`, an nn.Module whose class stays as it is: it keeps its own state-dict keys."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, *args, **kwargs):
        return self.model(*args, **kwargs)

    def training_step(self, batch, batch_idx):
        out = self.model(x.to(self.device)).squeeze()
        loss = loss_fn(out, y.to(self.device))
        if self.current_epoch % 5 == 0:
            acc = ((out > 0).float() == y.to(self.device)).float().mean().item()
            self.print("iteration", self.current_epoch, "loss %.4f" % loss.item(), "acc %.3f" % acc)
            if acc > 0.95:
                self.trainer.should_stop = True
        self.log("train_loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)
        return loss

    def configure_optimizers(self):
        optimizer = torch.optim.SGD(self.model.parameters(), lr=0.5)
        return optimizer

    def on_train_end(self):
        self.optimizers().zero_grad()  # the loop zeroed the gradients after each step


lit_model = LitLinear(model)
step_loader = torch.utils.data.DataLoader([0], generator=torch.Generator())
trainer = pl.Trainer(max_epochs=200)
trainer.fit(lit_model, train_dataloaders=step_loader)
print("done")

"""A graph-network shape: one full-batch step per epoch in a function that also evaluates (eval mode inside a helper), so its own model.train() must stay."""
import torch
from torch import nn
import torch.nn.functional as F
import pytorch_lightning as pl

torch.manual_seed(0)
features = torch.randn(20, 6)
labels = torch.randint(0, 3, (20,))
idx_train, idx_val = torch.arange(0, 12), torch.arange(12, 20)
model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 3))


def test(model, mask):
    model.eval()
    with torch.no_grad():
        output = model(features)
        loss = F.cross_entropy(output[mask], labels[mask])
    return loss.item()


class LitSequential(pl.LightningModule):
    """Trains `model`, an nn.Module whose class stays as it is: it keeps its own state-dict keys."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, *args, **kwargs):
        return self.model(*args, **kwargs)

    def training_step(self, batch, batch_idx):
        self.model.train()
        output = self.model(features.to(self.device))
        self.loss_train = F.cross_entropy(output[idx_train.to(self.device)], labels.to(self.device)[idx_train.to(self.device)])
        self.log("train_loss", self.loss_train, prog_bar=True, on_epoch=True, sync_dist=True)
        return self.loss_train

    def on_train_batch_end(self, outputs, batch, batch_idx):
        loss_val = test(self.model, idx_val.to(self.device))
        self.print("Epoch: {:04d}".format(self.current_epoch + 1), "loss_train: {:.4f}".format(self.loss_train.item()), "loss_val: {:.4f}".format(loss_val))

    def configure_optimizers(self):
        optimizer = torch.optim.Adam(self.model.parameters(), lr=0.01)
        return optimizer


lit_model = LitSequential(model)
step_loader = torch.utils.data.DataLoader([0], generator=torch.Generator())
trainer = pl.Trainer(max_epochs=5, accelerator="cpu")
trainer.fit(lit_model, train_dataloaders=step_loader)

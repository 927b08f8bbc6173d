import torch
from torch import nn
import pytorch_lightning as pl

torch.manual_seed(0)
X, Y = torch.randn(40, 3), torch.randn(40, 1)
model = nn.Linear(3, 1)
batch_size = 16


class LitLinear(pl.LightningModule):
    """Trains `model`, an nn.Module whose class stays as it is: it keeps its own state-dict keys."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, *args, **kwargs):
        return self.model(*args, **kwargs)

    def on_train_epoch_start(self):
        self.perm = torch.randperm(len(X)).to(self.device)

    def training_step(self, i, batch_idx):
        idx = self.perm[i:i + batch_size]
        self.loss = nn.functional.mse_loss(self.model(X.to(self.device)[idx]), Y.to(self.device)[idx])
        self.log("train_loss", self.loss, batch_size=1, prog_bar=True, on_epoch=True, sync_dist=True)
        return self.loss

    def on_train_epoch_end(self):
        self.print(self.current_epoch, round(self.loss.item(), 5))

    def configure_optimizers(self):
        optimizer = torch.optim.SGD(self.model.parameters(), lr=0.05)
        return optimizer


lit_model = LitLinear(model)
train_loader = torch.utils.data.DataLoader(
    list(range(0, len(X), batch_size)), batch_size=None, collate_fn=lambda item: item, generator=torch.Generator()
)
trainer = pl.Trainer(max_epochs=3)
trainer.fit(lit_model, train_dataloaders=train_loader)

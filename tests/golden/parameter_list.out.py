"""An optimizer over a list made first (`params = [p for p in net.parameters() if p.requires_grad]`), the transfer-learning idiom: the list is made again in configure_optimizers."""
import torch
from torch import nn
import pytorch_lightning as pl

torch.manual_seed(0)
net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
for p in net[0].parameters():
    p.requires_grad = False
params = [p for p in net.parameters() if p.requires_grad]
data = torch.utils.data.TensorDataset(torch.randn(32, 4), torch.randn(32, 1))
loader = torch.utils.data.DataLoader(data, batch_size=8, shuffle=True)


class LitSequential(pl.LightningModule):
    """Trains `model`, an nn.Module whose class stays as it is: it keeps its own state-dict keys."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, *args, **kwargs):
        return self.model(*args, **kwargs)

    def training_step(self, batch, batch_idx):
        x, y = batch
        self.loss = nn.functional.mse_loss(self.model(x), y)
        self.log("train_loss", self.loss, prog_bar=True, on_epoch=True, sync_dist=True)
        return self.loss

    def on_train_epoch_end(self):
        self.print(self.current_epoch, self.loss.item())

    def configure_optimizers(self):
        params = [p for p in self.model.parameters() if p.requires_grad]
        optimizer = torch.optim.Adam(params, lr=0.01)
        return optimizer

    def predict_step(self, batch, batch_idx):
        x, y = batch
        return self(x)


lit_net = LitSequential(net)
trainer = pl.Trainer(max_epochs=3)
trainer.fit(lit_net, train_dataloaders=loader)

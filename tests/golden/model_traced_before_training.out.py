"""The model is handed to other code before training (torch.jit.trace, as SummaryWriter.add_graph does): its class stays an nn.Module, which a LightningModule wraps; an unattached LightningModule raises when traced."""
import torch
from torch import nn
import pytorch_lightning as pl


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))

    def forward(self, x):
        return self.layers(x)


class LitNet(pl.LightningModule):
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
        self.print(self.current_epoch, round(self.loss.item(), 5))

    def configure_optimizers(self):
        optimizer = torch.optim.SGD(self.model.parameters(), lr=0.1)
        return optimizer

    def predict_step(self, batch, batch_idx):
        x, y = batch
        return self(x)


torch.manual_seed(0)
loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(32, 4), torch.randn(32, 1)), batch_size=8)
model = Net()
traced = torch.jit.trace(model, torch.randn(2, 4))
print("traced", traced(torch.ones(1, 4)).shape)
lit_model = LitNet(model)
trainer = pl.Trainer(max_epochs=2)
trainer.fit(lit_model, train_dataloaders=loader)

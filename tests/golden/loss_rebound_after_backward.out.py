"""The shape of PyTorch's own quickstart: after backward(), the step rebinds `loss` to a number
to print it; training_step returns the tensor under its own name."""
import torch
from torch import nn
import pytorch_lightning as pl

model = nn.Linear(4, 1)
data = torch.utils.data.TensorDataset(torch.randn(32, 4), torch.randn(32, 1))
loader = torch.utils.data.DataLoader(data, batch_size=8)


class LitLinear(pl.LightningModule):
    """Trains `model`, an nn.Module whose class stays as it is: it keeps its own state-dict keys."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, *args, **kwargs):
        return self.model(*args, **kwargs)

    def training_step(self, batch, batch_idx):
        X, y = batch
        loss = nn.functional.mse_loss(self.model(X), y)
        loss_tensor = loss  # what training_step returns for backward()
        if batch_idx % 2 == 0:
            loss, current = loss.item(), (batch_idx + 1) * len(X)
            self.print(f"loss: {loss:>7f}  [{current:>5d}]")
        self.log("train_loss", loss_tensor, prog_bar=True, on_epoch=True, sync_dist=True)
        return loss_tensor

    def configure_optimizers(self):
        optimizer = torch.optim.SGD(self.model.parameters(), lr=0.1)
        return optimizer

    def predict_step(self, batch, batch_idx):
        X, y = batch
        return self(X)

    def on_train_end(self):
        self.optimizers().zero_grad()  # the loop zeroed the gradients after each step


lit_model = LitLinear(model)
trainer = pl.Trainer(max_epochs=2)
trainer.fit(lit_model, train_dataloaders=loader)

"""Sine-wave regression with LBFGS: the optimizer calls a closure several times per step."""
import math

import torch
import torch.nn as nn
import pytorch_lightning as pl

torch.manual_seed(0)
t = torch.linspace(0, 2 * math.pi, 64).unsqueeze(1)
target = torch.sin(t)
dataset = torch.utils.data.TensorDataset(t, target)
loader = torch.utils.data.DataLoader(dataset, batch_size=64)


class Curve(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.automatic_optimization = False  # the loop steps its optimizers by hand
        self.net = nn.Sequential(nn.Linear(1, 20), nn.Tanh(), nn.Linear(20, 1))

    def forward(self, x):
        return self.net(x)

    def training_step(self, batch, batch_idx):
        optimizer = self.optimizers()
        x, y = batch

        def closure():
            optimizer.zero_grad()
            loss = criterion(self(x), y)
            self.manual_backward(loss)
            return loss

        optimizer.step(closure)

    def on_train_epoch_end(self):
        self.print("epoch", self.current_epoch, "loss", criterion(self(t.to(self.device)), target.to(self.device)).item())

    def configure_optimizers(self):
        optimizer = torch.optim.LBFGS(self.parameters(), lr=0.5, max_iter=5)
        return optimizer

    def predict_step(self, batch, batch_idx):
        x, y = batch
        return self(x)


model = Curve()
criterion = nn.MSELoss()

trainer = pl.Trainer(max_epochs=4)
trainer.fit(model, train_dataloaders=loader)

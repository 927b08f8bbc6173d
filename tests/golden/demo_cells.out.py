"""A notebook's cells run top to bottom: a model looked at layer by layer, one backward() to show
a gradient, a loop that updates a tensor by hand; then a fresh model and optimizer, trained. The
lessons stay as they are; the training becomes a LightningModule and a Trainer run."""
import torch
from torch import nn, optim
from torch.utils.data import DataLoader, TensorDataset
import pytorch_lightning as pl

torch.manual_seed(0)
x = torch.randn(96, 8)
y = (x[:, 0] > 0).long()
trainloader = DataLoader(TensorDataset(x[:64], y[:64]), batch_size=16, shuffle=True)
testloader = DataLoader(TensorDataset(x[64:], y[64:]), batch_size=16)

model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
optimizer = optim.SGD(model.parameters(), lr=0.1)
images, labels = next(iter(trainloader))
loss = nn.functional.cross_entropy(model(images), labels)
loss.backward()
print("gradient norm of the first layer:", round(model[0].weight.grad.norm().item(), 4))

w = torch.zeros(8, requires_grad=True)
for images, labels in trainloader:
    loss = (images @ w - labels.float()).pow(2).mean()
    loss.backward()
    with torch.no_grad():
        w -= 0.1 * w.grad
        w.grad.zero_()
print("by hand:", round(loss.item(), 4))

model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))


class LitSequential(pl.LightningModule):
    """Trains `model`, an nn.Module whose class stays as it is: it keeps its own state-dict keys."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, *args, **kwargs):
        return self.model(*args, **kwargs)

    def training_step(self, batch, batch_idx):
        images, labels = batch
        loss = nn.functional.cross_entropy(self.model(images), labels)
        self.log("train_loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)
        return loss

    def on_validation_epoch_start(self):
        self.correct = 0

    def validation_step(self, batch, batch_idx):
        images, labels = batch
        self.correct += (self.model(images).argmax(1) == labels).sum().item()

    def on_validation_epoch_end(self):
        if self.trainer.world_size > 1:  # the totals over all processes' batches
            self.correct = self.all_gather(self.correct).sum().item()
        self.print(f"epoch {self.current_epoch}: {self.correct} of 32 right")

    def configure_optimizers(self):
        optimizer = optim.SGD(self.model.parameters(), lr=0.1)
        return optimizer

    def predict_step(self, batch, batch_idx):
        images, labels = batch
        return self(images)

    def on_validation_model_zero_grad(self):
        """Lightning clears the gradients here; the loop kept the last batch's through evaluation."""


lit_model = LitSequential(model)
trainer = pl.Trainer(max_epochs=2, num_sanity_val_steps=0)
trainer.fit(lit_model, train_dataloaders=trainloader, val_dataloaders=testloader)
print("first layer's bias:", model[0].bias.detach().sum().item())

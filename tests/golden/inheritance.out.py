# A classifier is trained first; a subclass adds a reconstruction head and trains with its own loop.
import torch
from torch import nn, optim
from torch.utils.data import DataLoader, TensorDataset
import pytorch_lightning as pl

torch.manual_seed(0)
x = torch.rand(128, 20)
y = (x.sum(dim=1) > 10).long()
loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)


class Classifier(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(20, 16), nn.ReLU())
        self.head = nn.Linear(16, 2)

    def forward(self, x):
        return self.head(self.body(x))

    def training_step(self, batch, batch_idx):
        features, target = batch
        self.loss = loss_fn(self(features), target)
        self.log("train_loss", self.loss, prog_bar=True, on_epoch=True, sync_dist=True)
        return self.loss

    def on_train_epoch_end(self):
        self.print("classifier epoch", self.current_epoch, "loss", round(self.loss.item(), 4))

    def configure_optimizers(self):
        optimizer = optim.SGD(self.parameters(), lr=0.1)
        return optimizer

    def predict_step(self, batch, batch_idx):
        features, target = batch
        return self(features)


class Reconstructor(Classifier):
    """Keeps the classifier's layers and learns to reconstruct the input from its features."""

    def __init__(self):
        super().__init__()
        self.decoder = nn.Linear(16, 20)

    def forward(self, x):
        return self.decoder(self.body(x))

    def training_step(self, batch, batch_idx):
        features, _ = batch
        recon_loss = nn.functional.mse_loss(self(features), features)
        self.log("train_loss", recon_loss, prog_bar=True, on_epoch=True, sync_dist=True)
        return recon_loss

    def configure_optimizers(self):
        recon_optimizer = optim.Adam(self.parameters(), lr=1e-3)
        return recon_optimizer

    def predict_step(self, batch, batch_idx):
        features, _ = batch
        return self(features)

    def on_train_epoch_end(self):
        pass


classifier = Classifier()
loss_fn = nn.CrossEntropyLoss()
trainer = pl.Trainer(max_epochs=3)
trainer.fit(classifier, train_dataloaders=loader)

reconstructor = Reconstructor()
trainer = pl.Trainer(max_epochs=2)
trainer.fit(reconstructor, train_dataloaders=loader)

if trainer.is_global_zero:
    torch.save(classifier.state_dict(), "classifier.pt")
trainer.strategy.barrier()  # the other processes wait for the file
if trainer.is_global_zero:
    torch.save(reconstructor.state_dict(), "reconstructor.pt")

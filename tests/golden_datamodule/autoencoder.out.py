# A simple fully connected autoencoder on MNIST.
import os

import torch
import torch.nn as nn
from torchvision import datasets, transforms
import pytorch_lightning as pl


class MNISTDataModule(pl.LightningDataModule):
    """The data the training reads: Lightning calls `setup` in each process, then asks the
    `*_dataloader` hooks for the loaders of `fit`, `validate`, `test` and `predict`."""

    def __init__(self, batch_size=64):
        super().__init__()
        self.save_hyperparameters()

    def setup(self, stage):
        data_dir = os.environ.get("MNIST_DIR", "data")

        # MNIST dataset
        self.train_dataset = datasets.MNIST(
            root=data_dir, train=True, download=True, transform=transforms.ToTensor()
        )
        self.val_dataset = datasets.MNIST(
            root=data_dir, train=False, download=True, transform=transforms.ToTensor()
        )

    def train_dataloader(self):
        return torch.utils.data.DataLoader(
            self.train_dataset, batch_size=self.hparams.batch_size, shuffle=True
        )

    def val_dataloader(self):
        return torch.utils.data.DataLoader(self.val_dataset, batch_size=self.hparams.batch_size)

    def predict_dataloader(self):
        """What `trainer.predict` goes over: the batches `predict_step` unpacks."""
        return self.val_dataloader()


# Hyper-parameters
batch_size = 64
learning_rate = 1e-3
num_epochs = 2
code_size = 32

torch.manual_seed(0)
datamodule = MNISTDataModule(batch_size=batch_size)


class Encoder(pl.LightningModule):
    """Maps a 28x28 image to a small code."""

    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(28 * 28, 128)
        self.fc2 = nn.Linear(128, code_size)

    def forward(self, x):
        x = self.flatten(x)
        x = torch.relu(self.fc1(x))
        return self.fc2(x)


class AutoEncoder(Encoder):
    """An encoder with a decoder on top: reconstructs its input."""

    def __init__(self):
        super().__init__()
        self.decoder = nn.Sequential(
            nn.Linear(code_size, 128),
            nn.ReLU(),
            nn.Linear(128, 28 * 28),
            nn.Sigmoid(),
        )

    def forward(self, x):
        code = super().forward(x)
        out = self.decoder(code)
        return out.view(-1, 1, 28, 28)

    def on_train_epoch_start(self):
        self.running_loss = 0.0

    def training_step(self, batch, batch_idx):
        images, _ = batch
        outputs = self(images)
        loss = criterion(outputs, images)
        self.running_loss += loss.item()
        self.log("train_loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)
        return loss

    def on_train_batch_end(self, outputs, batch, batch_idx):
        if self.trainer.is_last_batch:
            # the training epoch's wrap-up: Lightning validates right after the last batch
            if self.trainer.world_size > 1:  # the totals over all processes' batches
                self.running_loss = self.all_gather(self.running_loss).sum().item()
            self.print(
                "Epoch [{}/{}], train loss: {:.6f}".format(
                    self.current_epoch + 1, num_epochs, self.running_loss / (self.trainer.num_training_batches * self.trainer.world_size)
                )
            )

    def on_validation_epoch_start(self):
        self.val_loss = 0.0

    def validation_step(self, batch, batch_idx):
        images, _ = batch
        outputs = self(images)
        self.val_loss += criterion(outputs, images).item()

    def on_validation_epoch_end(self):
        if self.trainer.world_size > 1:  # the totals over all processes' batches
            self.val_loss = self.all_gather(self.val_loss).sum().item()
        self.print(
            "Epoch [{}/{}], val loss: {:.6f}".format(
                self.current_epoch + 1, num_epochs, self.val_loss / (len(self.trainer.val_dataloaders) * self.trainer.world_size)
            )
        )
        self.log("val_loss", self.val_loss / (len(self.trainer.val_dataloaders) * self.trainer.world_size), sync_dist=True)

    def configure_optimizers(self):
        optimizer = torch.optim.Adam(self.parameters(), lr=learning_rate)
        return optimizer

    def predict_step(self, batch, batch_idx):
        images, _ = batch
        return self(images)

    def on_validation_model_zero_grad(self):
        """Lightning clears the gradients here; the loop kept the last batch's through evaluation."""


model = AutoEncoder()
criterion = nn.MSELoss()

# Train the model
trainer = pl.Trainer(max_epochs=num_epochs, num_sanity_val_steps=0)
trainer.fit(model, datamodule=datamodule)
model.eval()  # as the loop left it (Lightning restores the mode after evaluating)

# Save the model checkpoint
if trainer.is_global_zero:
    torch.save(model.state_dict(), "autoencoder.pt")

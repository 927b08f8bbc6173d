"""A small GAN: two models, two optimizers stepped by hand in one batch loop."""
import torch
from torch import nn
import pytorch_lightning as pl


class DataModule(pl.LightningDataModule):
    """The data the training reads: Lightning calls `setup` in each process, then asks the
    `*_dataloader` hooks for the loaders of `fit`, `validate`, `test` and `predict`."""

    def __init__(self, real=None, batch_size=16):
        super().__init__()
        self.save_hyperparameters(ignore=["real"])
        self.real = real

    def train_dataloader(self):
        return torch.utils.data.DataLoader(self.real, batch_size=self.hparams.batch_size)

    def predict_dataloader(self):
        """What `trainer.predict` goes over: the batches `predict_step` unpacks."""
        return self.train_dataloader()


generator = nn.Linear(4, 8)
discriminator = nn.Sequential(nn.Linear(8, 1), nn.Sigmoid())
criterion = nn.BCELoss()
real = torch.randn(64, 8)
datamodule = DataModule(real=real)


class LitGeneratorDiscriminator(pl.LightningModule):
    """Trains these nn.Modules together, their classes as they are: each keeps its own state-dict keys."""

    def __init__(self, generator, discriminator):
        super().__init__()
        self.generator = generator
        self.discriminator = discriminator
        self.automatic_optimization = False  # the loop steps its optimizers by hand

    def forward(self, *args, **kwargs):
        return self.generator(*args, **kwargs)

    def training_step(self, batch, batch_idx):
        opt_g, opt_d = self.optimizers()
        opt_d.zero_grad()
        fake = self.generator(torch.randn(len(batch), 4).to(self.device))
        d_loss = criterion(self.discriminator(batch), torch.ones(len(batch), 1).to(self.device)) + criterion(
            self.discriminator(fake.detach()), torch.zeros(len(batch), 1).to(self.device)
        )
        self.manual_backward(d_loss)
        self.log("d_loss", d_loss, prog_bar=True)
        opt_d.step()
        opt_g.zero_grad()
        g_loss = criterion(self.discriminator(fake), torch.ones(len(batch), 1).to(self.device))
        self.manual_backward(g_loss)
        self.log("g_loss", g_loss, prog_bar=True)
        opt_g.step()

    def configure_optimizers(self):
        opt_g = torch.optim.Adam(self.generator.parameters(), lr=2e-4)
        opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=2e-4)
        return [opt_g, opt_d]


lit_module = LitGeneratorDiscriminator(generator, discriminator)
trainer = pl.Trainer(max_epochs=2)
trainer.fit(lit_module, datamodule=datamodule)

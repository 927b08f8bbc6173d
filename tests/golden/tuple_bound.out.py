"""A GAN whose models and optimizers are bound in pairs (`G, D = ...`)."""
import torch
from torch import nn
import pytorch_lightning as pl

G, D = nn.Linear(2, 4), nn.Linear(4, 1)
loader = torch.utils.data.DataLoader(torch.randn(32, 4), batch_size=8)


class LitGD(pl.LightningModule):
    """Trains these nn.Modules together, their classes as they are: each keeps its own state-dict keys."""

    def __init__(self, G, D):
        super().__init__()
        self.G = G
        self.D = D
        self.automatic_optimization = False  # the loop steps its optimizers by hand

    def forward(self, *args, **kwargs):
        return self.G(*args, **kwargs)

    def training_step(self, real, batch_idx):
        opt_D, opt_G = self.optimizers()
        opt_D.zero_grad()
        d_loss = self.D(real).mean() - self.D(self.G(torch.randn(8, 2).to(self.device)).detach()).mean()
        self.manual_backward(d_loss)
        self.log("d_loss", d_loss, prog_bar=True)
        opt_D.step()
        opt_G.zero_grad()
        g_loss = -self.D(self.G(torch.randn(8, 2).to(self.device))).mean()
        self.manual_backward(g_loss)
        self.log("g_loss", g_loss, prog_bar=True)
        opt_G.step()

    def configure_optimizers(self):
        opt_G, opt_D = torch.optim.Adam(self.G.parameters(), lr=1e-3), torch.optim.Adam(self.D.parameters(), lr=1e-3)
        return [opt_D, opt_G]


lit_module = LitGD(G, D)
trainer = pl.Trainer(max_epochs=2)
trainer.fit(lit_module, train_dataloaders=loader)

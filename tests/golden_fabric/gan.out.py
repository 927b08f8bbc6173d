"""A small GAN: two models, two optimizers stepped by hand in one batch loop."""
import torch
from torch import nn
from lightning_fabric import Fabric

fabric = Fabric()
fabric.launch()

generator = nn.Linear(4, 8)
discriminator = nn.Sequential(nn.Linear(8, 1), nn.Sigmoid())
opt_g = torch.optim.Adam(generator.parameters(), lr=2e-4)
opt_d = torch.optim.Adam(discriminator.parameters(), lr=2e-4)
generator, opt_g = fabric.setup(generator, opt_g)
discriminator, opt_d = fabric.setup(discriminator, opt_d)
criterion = nn.BCELoss()
real = torch.randn(64, 8)
loader = torch.utils.data.DataLoader(real, batch_size=16)
loader = fabric.setup_dataloaders(loader)
for epoch in range(2):
    for batch in loader:
        opt_d.zero_grad()
        fake = generator(torch.randn(len(batch), 4).to(fabric.device))
        d_loss = criterion(discriminator(batch), torch.ones(len(batch), 1).to(fabric.device)) + criterion(
            discriminator(fake.detach()), torch.zeros(len(batch), 1).to(fabric.device)
        )
        fabric.backward(d_loss)
        opt_d.step()
        opt_g.zero_grad()
        g_loss = criterion(discriminator(fake), torch.ones(len(batch), 1).to(fabric.device))
        fabric.backward(g_loss)
        opt_g.step()

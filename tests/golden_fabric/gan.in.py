"""A small GAN: two models, two optimizers stepped by hand in one batch loop."""
import torch
from torch import nn

generator = nn.Linear(4, 8)
discriminator = nn.Sequential(nn.Linear(8, 1), nn.Sigmoid())
opt_g = torch.optim.Adam(generator.parameters(), lr=2e-4)
opt_d = torch.optim.Adam(discriminator.parameters(), lr=2e-4)
criterion = nn.BCELoss()
real = torch.randn(64, 8)
loader = torch.utils.data.DataLoader(real, batch_size=16)
for epoch in range(2):
    for batch in loader:
        opt_d.zero_grad()
        fake = generator(torch.randn(len(batch), 4))
        d_loss = criterion(discriminator(batch), torch.ones(len(batch), 1)) + criterion(
            discriminator(fake.detach()), torch.zeros(len(batch), 1)
        )
        d_loss.backward()
        opt_d.step()
        opt_g.zero_grad()
        g_loss = criterion(discriminator(fake), torch.ones(len(batch), 1))
        g_loss.backward()
        opt_g.step()

"""A GAN whose models and optimizers are bound in pairs (`G, D = ...`)."""
import torch
from torch import nn

G, D = nn.Linear(2, 4), nn.Linear(4, 1)
opt_G, opt_D = torch.optim.Adam(G.parameters(), lr=1e-3), torch.optim.Adam(D.parameters(), lr=1e-3)
loader = torch.utils.data.DataLoader(torch.randn(32, 4), batch_size=8)
for epoch in range(2):
    for real in loader:
        opt_D.zero_grad()
        d_loss = D(real).mean() - D(G(torch.randn(8, 2)).detach()).mean()
        d_loss.backward()
        opt_D.step()
        opt_G.zero_grad()
        g_loss = -D(G(torch.randn(8, 2))).mean()
        g_loss.backward()
        opt_G.step()

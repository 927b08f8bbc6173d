# declines: moves into the LightningModule (line 8) but reset_grad() still reads it
import torch
from torch import nn

G = nn.Linear(2, 4)
D = nn.Linear(4, 1)
loader = torch.utils.data.DataLoader(torch.randn(32, 4), batch_size=8)
g_opt = torch.optim.Adam(G.parameters(), lr=1e-3)
d_opt = torch.optim.Adam(D.parameters(), lr=1e-3)


def reset_grad():
    d_opt.zero_grad()
    g_opt.zero_grad()


for epoch in range(2):
    for real in loader:
        d_loss = D(real).mean() - D(G(torch.randn(8, 2)).detach()).mean()
        reset_grad()
        d_loss.backward()
        d_opt.step()
        g_loss = -D(G(torch.randn(8, 2))).mean()
        reset_grad()
        g_loss.backward()
        g_opt.step()

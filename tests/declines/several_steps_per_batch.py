# declines: several optimizer steps per batch (like a WGAN critic's)
"""A WGAN critic: five critic steps on each batch, then one generator step."""
import torch
from torch import nn

critic, gen = nn.Linear(4, 1), nn.Linear(2, 4)
opt_critic = torch.optim.RMSprop(critic.parameters(), lr=5e-5)
opt_gen = torch.optim.RMSprop(gen.parameters(), lr=5e-5)
loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(32, 4)), batch_size=8)
for epoch in range(2):
    for batch_idx, (real,) in enumerate(loader):
        for _ in range(5):
            fake = gen(torch.randn(real.shape[0], 2))
            loss_critic = -(critic(real).mean() - critic(fake).mean())
            opt_critic.zero_grad()
            loss_critic.backward(retain_graph=True)
            opt_critic.step()
        loss_gen = -critic(fake).mean()
        opt_gen.zero_grad()
        loss_gen.backward()
        opt_gen.step()

# fabric declines: a GradScaler per optimizer (`d_scaler` and `g_scaler`)
import torch
from torch import nn

torch.manual_seed(0)
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(32, 4)), batch_size=8)


def train_fn(disc, gen, loader, opt_disc, opt_gen, bce, d_scaler, g_scaler):
    for (real,) in loader:
        real = real.to(DEVICE)
        with torch.cuda.amp.autocast():
            fake = gen(torch.randn(real.shape[0], 2))
            d_real = disc(real)
            d_fake = disc(fake.detach())
            d_loss = bce(d_real, torch.ones_like(d_real)) + bce(d_fake, torch.zeros_like(d_fake))
        opt_disc.zero_grad()
        d_scaler.scale(d_loss).backward()
        d_scaler.step(opt_disc)
        d_scaler.update()
        with torch.cuda.amp.autocast():
            d_fake = disc(fake)
            g_loss = bce(d_fake, torch.ones_like(d_fake))
        opt_gen.zero_grad()
        g_scaler.scale(g_loss).backward()
        g_scaler.step(opt_gen)
        g_scaler.update()
    print(round(d_loss.item(), 5), round(g_loss.item(), 5))


def main():
    disc = nn.Sequential(nn.Linear(4, 1)).to(DEVICE)
    gen = nn.Sequential(nn.Linear(2, 4)).to(DEVICE)
    opt_disc = torch.optim.Adam(disc.parameters(), lr=1e-3)
    opt_gen = torch.optim.Adam(gen.parameters(), lr=1e-3)
    bce = nn.BCEWithLogitsLoss()
    g_scaler = torch.cuda.amp.GradScaler()
    d_scaler = torch.cuda.amp.GradScaler()
    for epoch in range(2):
        train_fn(disc, gen, loader, opt_disc, opt_gen, bce, d_scaler, g_scaler)


if __name__ == "__main__":
    main()

"""A small GAN in mixed precision with a GradScaler per network, as the DCGAN and CycleGAN
tutorials write it: each scaler skips its own overflowing steps and keeps its own scale."""
import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
import os
from lightning_fabric import Fabric


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--devices", default=os.environ.get("LOCAL_WORLD_SIZE", "auto"), help="devices per node (default: torchrun's --nproc-per-node, else auto): a number, a list like 0,1, or auto")
    parser.add_argument("--num-nodes", type=int, default=int(os.environ.get("GROUP_WORLD_SIZE", 1)), help="machines to train on (default: torchrun's --nnodes, else 1)")
    parser.add_argument("--strategy", default="auto", help="Lightning strategy: auto, ddp, fsdp, deepspeed...")
    args = parser.parse_args()

    torch.manual_seed(3)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    # 32-true: the script's own GradScalers and autocast do the mixed precision
    fabric = Fabric(
        accelerator=torch.device(device).type,
        devices=args.devices,
        num_nodes=args.num_nodes,
        precision="32-true",
        strategy=args.strategy,
    )
    fabric.launch()
    images = torch.rand(64, 1, 28, 28) * 2 - 1  # MNIST-sized, in [-1, 1]
    loader = DataLoader(TensorDataset(images), batch_size=16, shuffle=True)
    gen = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 784), nn.Tanh())
    disc = nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.LeakyReLU(0.2), nn.Linear(64, 1))
    opt_gen = torch.optim.Adam(gen.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_disc = torch.optim.Adam(disc.parameters(), lr=2e-4, betas=(0.5, 0.999))
    gen, opt_gen = fabric.setup(gen, opt_gen)
    disc, opt_disc = fabric.setup(disc, opt_disc)
    loader = fabric.setup_dataloaders(loader)
    criterion = nn.BCEWithLogitsLoss()
    g_scaler = torch.cuda.amp.GradScaler()
    d_scaler = torch.cuda.amp.GradScaler()

    for epoch in range(args.epochs):
        for (real,) in loader:
            noise = torch.randn(real.shape[0], 16, device=fabric.device)
            with torch.cuda.amp.autocast():
                fake = gen(noise).view(-1, 1, 28, 28)
                d_real = disc(real)
                d_fake = disc(fake.detach())
                d_loss = criterion(d_real, torch.ones_like(d_real))
                d_loss = (d_loss + criterion(d_fake, torch.zeros_like(d_fake))) / 2
            opt_disc.zero_grad()
            fabric.backward(d_scaler.scale(d_loss))
            d_scaler.step(opt_disc)
            d_scaler.update()

            with torch.cuda.amp.autocast():
                output = disc(fake)
                g_loss = criterion(output, torch.ones_like(output))
            opt_gen.zero_grad()
            fabric.backward(g_scaler.scale(g_loss))
            g_scaler.step(opt_gen)
            g_scaler.update()
        fabric.print(f"epoch {epoch}: d_loss {d_loss.item():.4f}, g_loss {g_loss.item():.4f}")
        fabric.print(f"loss scales: {d_scaler.get_scale()}, {g_scaler.get_scale()}")


if __name__ == "__main__":
    main()

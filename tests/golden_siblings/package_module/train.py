"""The batch loop is in a package (helpers/engine.py, re-exported by helpers/__init__.py), and
its module names a module `utils` where this script means another one."""

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import utils
from helpers import train_one_epoch


def make_data(n, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 8, generator=g)
    return TensorDataset(x, (x[:, 0] - x[:, 2] > 0).long())


def main():
    torch.manual_seed(0)
    device = torch.device("cpu")
    loader = DataLoader(make_data(128, 1), batch_size=16, shuffle=True)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2)).to(device)
    print(utils.describe(model))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for epoch in range(2):
        mean_loss = train_one_epoch(model, optimizer, loader, device, epoch)
        print(f"epoch {epoch}: mean loss {mean_loss:.4f}")


if __name__ == "__main__":
    main()

"""Epochs counted by a progress bar: `trange` draws one bar over the epochs, the loop trains the
range inside it."""

import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from tqdm import trange


class Regressor(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))

    def forward(self, x):
        return self.layers(x)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=0.05)
    args = parser.parse_args()

    torch.manual_seed(0)
    inputs = torch.randn(96, 8)
    targets = inputs.sum(dim=1, keepdim=True)
    loader = DataLoader(TensorDataset(inputs, targets), batch_size=16, shuffle=True)
    model = Regressor()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)

    for epoch in trange(1, args.epochs + 1, desc="epochs"):
        model.train()
        running = 0.0
        for x, y in loader:
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            optimizer.step()
            running += loss.item() * len(x)
        print(f"epoch {epoch}: train loss {running / len(loader.dataset):.4f}")

    torch.save(model.state_dict(), "regressor.pt")


if __name__ == "__main__":
    main()

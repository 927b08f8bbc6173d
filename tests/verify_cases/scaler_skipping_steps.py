"""A GradScaler that really scales on the CPU, from a scale so large that the first steps
overflow and are skipped, handed to the training function."""
import argparse
import os

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def train(loader, model, optimizer, scaler):
    for x, y in loader:
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    return loss.item()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=6)
    args = parser.parse_args()
    torch.manual_seed(0)
    data = TensorDataset(torch.randn(64, 4), torch.randn(64, 1) * 100)
    loader = DataLoader(data, batch_size=8)
    model = nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**127, growth_interval=2)
    for epoch in range(args.epochs):
        loss = train(loader, model, optimizer, scaler)
        print(f"epoch {epoch}: loss {loss:.6f}, scale {scaler.get_scale()}")
    weights = [round(v, 6) for v in torch.cat([p.flatten() for p in model.parameters()]).tolist()]
    with open(f"rank{os.environ.get('LOCAL_RANK', '0')}.txt", "w") as f:
        f.write(f"{scaler.get_scale()} {weights}\n")


if __name__ == "__main__":
    main()

"""Mixed precision in a training function that receives its GradScaler and clips the unscaled
gradients, as the PyTorch AMP recipe teaches."""
import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def train_fn(loader, model, optimizer, loss_fn, scaler, device):
    for data, targets in loader:
        data, targets = data.to(device), targets.to(device)
        with torch.autocast("cuda", dtype=torch.float16):
            scores = model(data)
            loss = loss_fn(scores, targets)
        optimizer.zero_grad()
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        scaler.step(optimizer)
        scaler.update()
    return loss.item()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=0.05)
    args = parser.parse_args()

    torch.manual_seed(5)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dataset = TensorDataset(torch.randn(96, 1, 28, 28), torch.randint(0, 10, (96,)))
    loader = DataLoader(dataset, batch_size=32, shuffle=True)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 26 * 26, 10))
    model = model.to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    scaler = torch.amp.GradScaler("cuda")
    for epoch in range(args.epochs):
        loss = train_fn(loader, model, optimizer, loss_fn, scaler, device)
        print(f"epoch {epoch}: loss {loss:.4f}, scale {scaler.get_scale()}")


if __name__ == "__main__":
    main()

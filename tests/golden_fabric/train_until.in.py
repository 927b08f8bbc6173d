"""Trains until the loss reaches a target or a step budget runs out, validating every 20 steps:
a `while` loop around the batch loop, a data-dependent `break` and an evaluation inside the batch
loop, none of which the Trainer can take."""
import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def evaluate(model, loader, step):
    model.eval()
    total_loss, correct = 0.0, 0
    with torch.no_grad():
        for x, y in loader:
            out = model(x)
            total_loss += nn.functional.cross_entropy(out, y, reduction="sum").item()
            correct += (out.argmax(1) == y).sum().item()
    n = len(loader.dataset)
    print(f"step {step}: validation loss {total_loss / n:.4f}, {correct}/{n} correct")
    model.train()
    return total_loss / n


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-steps", type=int, default=60)
    parser.add_argument("--target-loss", type=float, default=0.05)
    parser.add_argument("--lr", type=float, default=0.1)
    args = parser.parse_args()

    torch.manual_seed(0)
    x = torch.randn(256, 10)
    y = (x[:, 0] + x[:, 1] > 0).long()
    # 64 validation items: two processes get 32 each, no padding by the distributed sampler
    train_loader = DataLoader(TensorDataset(x[:192], y[:192]), batch_size=16, shuffle=True)
    val_loader = DataLoader(TensorDataset(x[192:], y[192:]), batch_size=16)
    model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Dropout(0.1), nn.Linear(32, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)

    step, best = 0, float("inf")
    done = False
    while not done:
        for inputs, labels in train_loader:
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(inputs), labels)
            loss.backward()
            optimizer.step()
            step += 1
            if step % 20 == 0:
                best = min(best, evaluate(model, val_loader, step))
            if loss.item() < args.target_loss or step >= args.max_steps:
                done = True
                break
    print(f"stopped after {step} steps, best validation loss {best:.4f}")
    torch.save(model.state_dict(), "model.pt")


if __name__ == "__main__":
    main()

"""A plain loop that evaluates: validation after each epoch, a test at the end, each printing a
loss and a count; a training summary after each epoch (the loss over the epoch's items); and a
line every 8 steps, counted by hand, which falls on the epoch's last batch on one process only. The Lightning versions beside it (eval_*.py) evaluate the same way on one
process; --devices 2 tells apart those that also do on two."""

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset


def make_data(n, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 8, generator=g)
    y = (x[:, 0] - x[:, 2] > 0).long()
    return TensorDataset(x, y)


def loaders():
    torch.manual_seed(3)
    train = DataLoader(make_data(128, 1), batch_size=16, shuffle=True)
    # 64 items: two processes get 32 each, no padding by the distributed sampler
    val = DataLoader(make_data(64, 2), batch_size=16)
    test = DataLoader(make_data(64, 3), batch_size=16)
    return train, val, test


def evaluate(model, loader, what):
    model.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for x, y in loader:
            out = model(x)
            loss += F.cross_entropy(out, y, reduction="sum").item()
            correct += (out.argmax(1) == y).sum().item()
    n = len(loader.dataset)
    print(f"{what}: loss {loss / n:.4f}, accuracy {correct}/{n}")


def main():
    train, val, test = loaders()
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    steps = 0
    for epoch in range(2):
        model.train()
        running = 0.0
        for x, y in train:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            steps += 1
            if steps % 8 == 0:
                print(f"step {steps}")
            running += loss.item() * len(y)
        print(f"epoch {epoch} training: loss {running / len(train.dataset):.4f}")
        evaluate(model, val, f"epoch {epoch} validation")
    evaluate(model, test, "test")
    torch.save(model.state_dict(), "model.pt")


if __name__ == "__main__":
    main()

"""Trains with dropout, evaluates each epoch in eval mode, tests once after training, and then
uses the model: its mode, gradients and predictions after fit and after test go to after.json."""

import json

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class Net(nn.Module):
    def __init__(self, hidden=8):
        super().__init__()
        self.fc1 = nn.Linear(4, hidden)
        self.drop = nn.Dropout(0.5)
        self.fc2 = nn.Linear(hidden, 1)

    def forward(self, x):
        return self.fc2(self.drop(torch.relu(self.fc1(x))))


def data():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(96, 4, generator=generator)
    y = x.sum(1, keepdim=True)
    train = DataLoader(TensorDataset(x[:64], y[:64]), batch_size=16, shuffle=True)
    val = DataLoader(TensorDataset(x[64:80], y[64:80]), batch_size=8)
    test = DataLoader(TensorDataset(x[80:], y[80:]), batch_size=8)
    return train, val, test


def test(model, loader, criterion):
    model.eval()
    total = 0.0
    with torch.no_grad():
        for x, y in loader:
            total += criterion(model(x), y).item()
    print("test", round(total, 6))


def state(model, when):
    grad = model.fc1.weight.grad
    with torch.no_grad():
        pred = model(torch.ones(3, 4)).flatten().tolist()
    return {
        f"{when} training": model.training,
        f"{when} grad": None if grad is None else round(grad.sum().item(), 6),
        f"{when} pred": [round(p, 6) for p in pred],
    }


def main():
    torch.manual_seed(0)
    train_loader, val_loader, test_loader = data()
    model = Net(hidden=8)
    criterion = nn.MSELoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    log_every = 2
    for epoch in range(2):
        model.train()
        for step, (x, y) in enumerate(train_loader):
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            optimizer.step()
            if step % log_every == 0:
                print("loss", round(loss.item(), 6))
        model.eval()
        total = 0.0
        with torch.no_grad():
            for x, y in val_loader:
                total += criterion(model(x), y).item()
        print("val", epoch, round(total, 6))
    after = state(model, "fit")
    test(model, test_loader, criterion)
    after.update(state(model, "test"))
    with open("after.json", "w") as f:
        json.dump(after, f)


if __name__ == "__main__":
    main()

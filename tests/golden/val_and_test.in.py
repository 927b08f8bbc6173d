"""Regression with a validation pass every epoch and a test pass once after training."""
import torch
import torch.nn as nn
import torch.optim as optim
from torch.utils.data import DataLoader, TensorDataset, random_split


class Regressor(nn.Module):
    def __init__(self, hidden=32):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(8, hidden), nn.Tanh(), nn.Linear(hidden, 1))

    def forward(self, x):
        return self.net(x).squeeze(-1)


def load_regressor(path):
    """Another call site of the model class: it must keep working after the conversion."""
    model = Regressor(hidden=16)
    model.load_state_dict(torch.load(path))
    return model


def test(model, loader, criterion):
    model.eval()
    total = 0.0
    with torch.no_grad():
        for inputs, targets in loader:
            total += criterion(model(inputs), targets).item() * len(inputs)
    print(f"test loss: {total / len(loader.dataset):.5f}")


def main():
    torch.manual_seed(42)
    inputs = torch.randn(400, 8)
    targets = inputs @ torch.linspace(-1, 1, 8) + 0.1 * torch.randn(400)
    train_set, val_set, test_set = random_split(TensorDataset(inputs, targets), [300, 50, 50])
    train_loader = DataLoader(train_set, batch_size=25, shuffle=True)
    val_loader = DataLoader(val_set, batch_size=25)
    test_loader = DataLoader(test_set, batch_size=25)

    model = Regressor(hidden=16)
    criterion = nn.MSELoss()
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    log_every = 4  # batches between progress lines

    for epoch in range(1, 4):
        model.train()
        for step, (x, y) in enumerate(train_loader, 1):
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            optimizer.step()
            if step % log_every == 0:
                print(f"epoch {epoch} step {step}/{len(train_loader)} loss {loss.item():.5f}")

        model.eval()
        val_loss = 0.0
        with torch.no_grad():
            for x, y in val_loader:
                val_loss += criterion(model(x), y).item() * len(x)
        val_loss /= len(val_loader.dataset)
        print(f"epoch {epoch} validation loss {val_loss:.5f}")

    test(model, test_loader, criterion)
    torch.save(model.state_dict(), "regressor.pt")
    print("reloaded:", load_regressor("regressor.pt").net[0].out_features)


if __name__ == "__main__":
    main()

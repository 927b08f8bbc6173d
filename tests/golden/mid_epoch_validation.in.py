"""Validation every 5 batches, in the middle of the epoch, by a function that the loop calls."""
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(8, 24), nn.ReLU(), nn.Dropout(0.3), nn.Linear(24, 3))

    def forward(self, x):
        return self.body(x)


def evaluate(model, loader):
    model.eval()
    correct = 0
    with torch.no_grad():
        for x, y in loader:
            correct += (model(x).argmax(1) == y).sum().item()
    print(f"validation accuracy {correct / len(loader.dataset):.3f}")


def main():
    torch.manual_seed(4)
    train_set = TensorDataset(torch.randn(192, 8), torch.randint(0, 3, (192,)))
    val_set = TensorDataset(torch.randn(48, 8), torch.randint(0, 3, (48,)))
    train_loader = DataLoader(train_set, batch_size=16, shuffle=True)
    val_loader = DataLoader(val_set, batch_size=16, shuffle=True)
    model = Tagger()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for epoch in range(2):
        model.train()
        for i, (x, y) in enumerate(train_loader):
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            if (i + 1) % 5 == 0:
                evaluate(model, val_loader)
                model.train()


if __name__ == "__main__":
    main()

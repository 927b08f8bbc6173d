"""`train()` and `test()` each sum into a local of the same name, `total`: on the module both are
`self.total`, and the training's is still summed over processes for its epoch summary."""
import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

parser = argparse.ArgumentParser()
parser.add_argument("--batch-size", type=int, default=16)
parser.add_argument("--epochs", type=int, default=3)
parser.add_argument("--workers", type=int, default=0)
args = parser.parse_args()

torch.manual_seed(3)
points = torch.randn(96, 6)
kwargs = {"num_workers": args.workers}
train_loader = DataLoader(TensorDataset(points[:64]), batch_size=args.batch_size, shuffle=True, **kwargs)
test_loader = DataLoader(TensorDataset(points[64:]), batch_size=args.batch_size, **kwargs)


class AutoEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.encode = nn.Linear(6, 2)
        self.decode = nn.Linear(2, 6)

    def forward(self, x):
        return self.decode(torch.relu(self.encode(x)))


model = AutoEncoder()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)


def train(epoch):
    model.train()
    total = 0.0
    for (x,) in train_loader:
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(x), x)
        loss.backward()
        total += loss.item()
        optimizer.step()
    print(f"epoch {epoch}: train loss {total / len(train_loader):.4f}")


def test(epoch):
    model.eval()
    total = 0.0
    with torch.no_grad():
        for (x,) in test_loader:
            total += nn.functional.mse_loss(model(x), x, reduction="sum").item()
    print(f"epoch {epoch}: test loss {total / len(test_loader.dataset):.4f}")


if __name__ == "__main__":
    for epoch in range(1, args.epochs + 1):
        train(epoch)
        test(epoch)

"""What a script leaves behind besides its weights: a BatchNorm's running statistics, an EMA copy
outside the optimizer, the model's mode and gradients after training, files it writes (a state
dict, a whole pickled model, predictions as text), and lines from a clock. Compared with
lightning.py, a faithful hand-written conversion with switches that make it unfaithful."""

import copy
import time
from datetime import datetime

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def make_data(n, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 6, generator=g)
    return TensorDataset(x, (x[:, 0] - x[:, 1] > 0).long())


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 16)
        self.bn = nn.BatchNorm1d(16, momentum=0.1)
        self.drop = nn.Dropout(0.3)
        self.fc2 = nn.Linear(16, 2)

    def forward(self, x):
        return self.fc2(self.drop(torch.relu(self.bn(self.fc1(x)))))


def main():
    start = time.time()
    torch.manual_seed(0)
    train_loader = DataLoader(make_data(96, 1), batch_size=16, shuffle=True)
    val_loader = DataLoader(make_data(32, 2), batch_size=16)
    model = Net()
    ema = copy.deepcopy(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for epoch in range(2):
        model.train()
        for x, y in train_loader:
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                for e, p in zip(ema.parameters(), model.parameters()):
                    e.mul_(0.5).add_(p, alpha=0.5)
        model.eval()
        with torch.no_grad():
            for x, y in val_loader:
                model(x)
    print(f"finished at {datetime.now()}")
    print(f"Time elapsed: {(time.time() - start) / 60:.2f} min")
    torch.save(model.state_dict(), "model.pt")
    torch.save(ema, "ema.pt")
    with torch.no_grad():
        scores = model(val_loader.dataset.tensors[0])[:, 1]
    with open("predictions.csv", "w") as f:
        f.writelines(f"{i},{s:.6f}\n" for i, s in enumerate(scores.tolist()))


if __name__ == "__main__":
    main()

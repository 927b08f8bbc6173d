"""A classifier that stops once its validation accuracy has not risen for `--patience` epochs."""
import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Linear(32, 3))

    def forward(self, x):
        return self.layers(x)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--patience", type=int, default=3)
    args = parser.parse_args()

    torch.manual_seed(4)
    inputs = torch.randn(240, 6)
    classes = (inputs[:, :3].sum(1) > 0).long() + (inputs[:, 3:].sum(1) > 1).long()
    train_loader = DataLoader(TensorDataset(inputs[:200], classes[:200]), batch_size=20, shuffle=True)
    val_loader = DataLoader(TensorDataset(inputs[200:], classes[200:]), batch_size=20)

    model = Classifier()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    best_accuracy, epochs_without_gain = float("-inf"), 0
    for epoch in range(args.epochs):
        model.train()
        for x, y in train_loader:
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()

        model.eval()
        correct = 0
        with torch.no_grad():
            for x, y in val_loader:
                correct += (model(x).argmax(1) == y).sum().item()
        accuracy = correct / len(val_loader.dataset)
        print(f"epoch {epoch}: accuracy {accuracy:.3f}")

        if accuracy > best_accuracy:
            best_accuracy, epochs_without_gain = accuracy, 0
        else:
            epochs_without_gain += 1
        if epochs_without_gain >= args.patience:
            break


if __name__ == "__main__":
    main()

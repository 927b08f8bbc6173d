"""Sums over the batches read once the batches are done, as a script would print them on 1 and on
2 processes (tests/test_sums_over_processes.py converts it to both targets):

- a training summary divided by the data set's size;
- a validation loss added up as per-batch means, `loss.item() / len(val_loader)`;
- an accuracy over 255 validation samples, which 2 processes cannot split evenly;
- a test pass after training, printed as a mean;
- two files written every epoch: a state dict, and a line appended to a log.

Eight training batches an epoch: fewer than Lightning's log_every_n_steps.
"""

import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()

    torch.manual_seed(0)
    x = torch.randn(611, 8)
    y = (x[:, :3].sum(1) > 0).long() + (x[:, 3] > 1).long()
    train_loader = DataLoader(TensorDataset(x[:256], y[:256]), batch_size=32, shuffle=True)
    val_loader = DataLoader(TensorDataset(x[256:511], y[256:511]), batch_size=64)
    test_loader = DataLoader(TensorDataset(x[511:], y[511:]), batch_size=25)

    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)

    for epoch in range(args.epochs):
        model.train()
        running_loss = 0.0
        for inputs, targets in train_loader:
            optimizer.zero_grad()
            loss = criterion(model(inputs), targets)
            loss.backward()
            optimizer.step()
            running_loss += loss.item() * inputs.size(0)
        train_loss = running_loss / len(train_loader.dataset)

        model.eval()
        val_loss, correct = 0.0, 0
        with torch.no_grad():
            for inputs, targets in val_loader:
                outputs = model(inputs)
                val_loss += criterion(outputs, targets).item() / len(val_loader)
                correct += (outputs.argmax(1) == targets).sum().item()
        print(
            f"epoch {epoch}: train {train_loss:.4f} val {val_loss:.4f} "
            f"Accuracy: {correct}/{len(val_loader.dataset)}"
        )
        torch.save(model.state_dict(), "last.pt")
        with open("epochs.txt", "a") as log:
            log.write(f"epoch {epoch}\n")

    model.eval()
    total = 0.0
    with torch.no_grad():
        for inputs, targets in test_loader:
            total += criterion(model(inputs), targets).item() * len(inputs)
    print(f"test loss: {total / len(test_loader.dataset):.4f}")


if __name__ == "__main__":
    main()

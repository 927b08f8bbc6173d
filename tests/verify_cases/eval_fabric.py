"""eval_plain.py with Lightning Fabric, in three ways of evaluating (``--mode``):

* ``synced`` (the right way, as the Fabric conversion does it): the loaders set up (each process
  evaluates its share), the sums reduced over the processes, printed once (``fabric.print``);
* ``per_shard``: the loaders set up but the sums not reduced, printed with ``print``: each
  process prints its own share;
* ``twice``: reduced right but printed with ``print``: every process prints the line.

All three train and print exactly like eval_plain.py on one process."""

import argparse

import torch
from lightning.fabric import Fabric
from torch import nn
from torch.nn import functional as F

from eval_plain import loaders


def evaluate(fabric, mode, model, loader, what):
    model.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for x, y in loader:
            out = model(x)
            loss += F.cross_entropy(out, y, reduction="sum").item()
            correct += (out.argmax(1) == y).sum().item()
    if mode != "per_shard" and fabric.world_size > 1:
        loss = fabric.all_reduce(torch.tensor(loss, dtype=torch.float64), reduce_op="sum").item()
        correct = int(fabric.all_reduce(torch.tensor(correct), reduce_op="sum").item())
    n = len(loader.dataset)
    say = fabric.print if mode == "synced" else print
    say(f"{what}: loss {loss / n:.4f}, accuracy {correct}/{n}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=("synced", "per_shard", "twice"), default="synced")
    mode = parser.parse_args().mode
    fabric = Fabric()
    fabric.launch()
    train, val, test = loaders()
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    model, optimizer = fabric.setup(model, optimizer)
    train, val, test = fabric.setup_dataloaders(train, val, test)
    steps = 0
    for epoch in range(2):
        model.train()
        running = 0.0
        for x, y in train:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y)
            fabric.backward(loss)
            optimizer.step()
            steps += 1
            if steps % 8 == 0:
                (fabric.print if mode == "synced" else print)(f"step {steps}")
            running += loss.item() * len(y)
        if mode != "per_shard" and fabric.world_size > 1:
            running = fabric.all_reduce(torch.tensor(running), reduce_op="sum").item()
        say = fabric.print if mode == "synced" else print
        say(f"epoch {epoch} training: loss {running / len(train.dataset):.4f}")
        evaluate(fabric, mode, model, val, f"epoch {epoch} validation")
    evaluate(fabric, mode, model, test, "test")
    fabric.save("model.pt", model.state_dict())


if __name__ == "__main__":
    main()

# fabric declines: train() is decorated
import functools

import torch
from torch import nn


def half_lr(f):
    @functools.wraps(f)
    def wrapper(model, loader, optimizer):
        for group in optimizer.param_groups:
            group["lr"] /= 2
        return f(model, loader, optimizer)

    return wrapper


@half_lr  # calls train() with three arguments: it cannot pass `fabric` on
def train(model, loader, optimizer):
    for x in loader:
        optimizer.zero_grad()
        loss = model(x).pow(2).mean()
        loss.backward()
        optimizer.step()


def main():
    model = nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loader = torch.utils.data.DataLoader(torch.randn(32, 4), batch_size=8)
    for epoch in range(2):
        train(model, loader, optimizer)


main()

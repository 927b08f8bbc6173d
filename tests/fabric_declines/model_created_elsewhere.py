# fabric declines: `model` is not created in the same function as `optimizer`
import torch
from torch import nn

model = nn.Linear(4, 1)


def main():
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for x in torch.randn(8, 16, 4):
        optimizer.zero_grad()
        model(x).pow(2).mean().backward()
        optimizer.step()


main()

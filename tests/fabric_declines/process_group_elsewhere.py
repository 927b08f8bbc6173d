# fabric declines: the process group is initialised elsewhere than in train()
import torch
import torch.distributed as dist
from torch import nn


def train():
    model = nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for x in torch.randn(4, 8, 4):
        optimizer.zero_grad()
        model(x).sum().backward()
        optimizer.step()


def main():
    dist.init_process_group("gloo")
    print("world size", dist.get_world_size())  # needs the process group before train() runs
    train()
    dist.destroy_process_group()


main()

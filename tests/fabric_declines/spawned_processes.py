# fabric declines: it starts its own processes
import torch
import torch.multiprocessing as mp
from torch import nn


def run(rank):
    model = nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for x in torch.utils.data.DataLoader(torch.randn(32, 4), batch_size=8):
        optimizer.zero_grad()
        model(x).pow(2).mean().backward()
        optimizer.step()


if __name__ == "__main__":
    mp.spawn(run, nprocs=2)

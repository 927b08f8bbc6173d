"""The batch loop is in a package (helpers/engine.py, re-exported by helpers/__init__.py), and
its module names a module `utils` where this script means another one."""

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import utils
from helpers import progress as utils_2
from lightning_fabric import Fabric


def train_one_epoch(model, optimizer, data_loader, device, epoch, fabric):
    model.train()
    loss_function = torch.nn.CrossEntropyLoss()
    mean_loss = torch.zeros(1).to(device)
    data_loader = utils_2.bar(data_loader, every=4)
    for step, (images, labels) in enumerate(data_loader):
        pred = model(images.to(device))
        loss = loss_function(pred, labels.to(device))
        optimizer.zero_grad()
        fabric.backward(loss)
        optimizer.step()
        mean_loss = (mean_loss * step + loss.detach()) / (step + 1)
    return mean_loss.item()


def make_data(n, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 8, generator=g)
    return TensorDataset(x, (x[:, 0] - x[:, 2] > 0).long())


def main():
    torch.manual_seed(0)
    device = torch.device("cpu")
    fabric = Fabric(accelerator=torch.device(device).type)
    fabric.launch()
    loader = DataLoader(make_data(128, 1), batch_size=16, shuffle=True)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
    fabric.print(utils.describe(model))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    model, optimizer = fabric.setup(model, optimizer)
    for epoch in range(2):
        mean_loss = train_one_epoch(model, optimizer, loader, fabric.device, epoch, fabric)
        fabric.print(f"epoch {epoch}: mean loss {mean_loss:.4f}")


if __name__ == "__main__":
    main()

# fabric declines: train_step() is a method
import torch
from torch import nn


class Trainer:
    def __init__(self, model, loader):
        self.model = model
        self.loader = loader

    def train_step(self, optimizer, x):
        optimizer.zero_grad()
        loss = self.model(x).pow(2).mean()
        loss.backward()
        optimizer.step()


def main():
    model = nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    trainer = Trainer(model, torch.utils.data.DataLoader(torch.randn(32, 4), batch_size=8))
    for x in trainer.loader:
        trainer.train_step(optimizer, x)


main()

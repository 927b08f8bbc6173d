import torch
from torch import nn
from lightning_fabric import Fabric

fabric = Fabric()
fabric.launch()

torch.manual_seed(0)
loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(64, 4), torch.randn(64, 1)), batch_size=16)


def train(model, optimizer, loader, epochs):
    for epoch in range(epochs):
        total = 0.0
        for x, y in loader:
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(model(x), y)
            fabric.backward(loss)
            optimizer.step()
            total += loss.item()
        if fabric.world_size > 1:  # the totals over all processes' batches
            total = fabric.all_reduce(total, reduce_op="sum").item()
        fabric.print(epoch, total)
    return model


model = nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
model, optimizer = fabric.setup(model, optimizer)
loader = fabric.setup_dataloaders(loader)
model = train(model, optimizer, loader, 3)

"""The shape of PyTorch's own quickstart: after backward(), the step rebinds `loss` to a number
to print it; training_step returns the tensor under its own name."""
import torch
from torch import nn

model = nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
data = torch.utils.data.TensorDataset(torch.randn(32, 4), torch.randn(32, 1))
loader = torch.utils.data.DataLoader(data, batch_size=8)


def train(dataloader, model, optimizer):
    for batch, (X, y) in enumerate(dataloader):
        loss = nn.functional.mse_loss(model(X), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if batch % 2 == 0:
            loss, current = loss.item(), (batch + 1) * len(X)
            print(f"loss: {loss:>7f}  [{current:>5d}]")


for epoch in range(2):
    train(loader, model, optimizer)

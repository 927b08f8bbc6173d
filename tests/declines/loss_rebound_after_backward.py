# declines: `loss` is rebound here, after loss.backward() (line 21): training_step must return the tensor backward() was called on
import torch
from torch import nn

model = nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
data = torch.utils.data.TensorDataset(torch.randn(32, 4), torch.randn(32, 1))
loader = torch.utils.data.DataLoader(data, batch_size=8)


def train(dataloader, model, optimizer):
    # the shape of PyTorch's own quickstart: the loss is printed as a number every k batches
    for batch, (X, y) in enumerate(dataloader):
        loss = nn.functional.mse_loss(model(X), y)
        # (a comment line, so that backward() sits on line 21 of this file)
        #
        #
        #
        #
        #
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if batch % 2 == 0:
            loss, current = loss.item(), (batch + 1) * len(X)
            print(f"loss: {loss:>7f}  [{current:>5d}]")


for epoch in range(2):
    train(loader, model, optimizer)

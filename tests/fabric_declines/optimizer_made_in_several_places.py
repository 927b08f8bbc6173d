# fabric declines: its calls bind to 2 variables (`optimizer` of experiment(), `optimizer` of the script)
import torch
from torch import nn

loader = torch.utils.data.DataLoader(
    torch.utils.data.TensorDataset(torch.randn(32, 4), torch.randn(32, 1)), batch_size=8
)


def train(model, optimizer, epochs):
    for epoch in range(epochs):
        for x, y in loader:
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            optimizer.step()


def experiment(lr):
    model = nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    train(model, optimizer, 2)


model = nn.Linear(4, 1)
optimizer = torch.optim.Adam(model.parameters())
train(model, optimizer, 2)
experiment(0.1)

# fabric declines: the batches (`xb`) come from a loader made outside train()
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def train(net, data, epochs, lr=1e-2):
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    for epoch in range(epochs):
        for xb, yb in data:
            opt.zero_grad()
            loss = nn.functional.mse_loss(net(xb), yb)
            loss.backward()
            opt.step()
    return net


model = nn.Linear(5, 1)
loader = DataLoader(TensorDataset(torch.randn(64, 5), torch.randn(64, 1)), batch_size=16)
train(model, loader, 2)

"""Splits MNIST by its real size, as many notebooks do: 59000 items to train on, the last 1000 to
validate. verify --fake-data serves fewer items; the indices must still reach them."""

import torch
from torch import nn
from torch.utils.data import DataLoader, Subset
from torchvision import datasets, transforms

torch.manual_seed(0)
both = datasets.MNIST("data", train=True, download=True, transform=transforms.ToTensor())
train = Subset(both, torch.arange(0, 59000))
valid = Subset(both, torch.arange(59000, 60000))
train_loader = DataLoader(train, batch_size=256, shuffle=True)
valid_loader = DataLoader(valid, batch_size=256)
model = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 10))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(1):
    for images, labels in train_loader:
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        correct = sum((model(x).argmax(1) == y).sum().item() for x, y in valid_loader)
    print(f"epoch {epoch}: {correct} of {len(valid)} right")

"""MNIST from a missing folder with download=True: runs offline only with --fake-data."""

import torch
from torch import nn
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

torch.manual_seed(7)
transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
train_set = datasets.MNIST(root="/nonexistent", train=True, download=True, transform=transform)
loader = DataLoader(train_set, batch_size=64, shuffle=True)
model = nn.Sequential(
    nn.Flatten(), nn.Linear(28 * 28, 64), nn.ReLU(), nn.Dropout(0.2), nn.Linear(64, 10)
)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
for epoch in range(1):
    for images, labels in loader:
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
    print(f"epoch {epoch}: loss {loss.item():.4f}")

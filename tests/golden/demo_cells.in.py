"""A notebook's cells run top to bottom: a model looked at layer by layer, one backward() to show
a gradient, a loop that updates a tensor by hand; then a fresh model and optimizer, trained. The
lessons stay as they are; the training becomes a LightningModule and a Trainer run."""
import torch
from torch import nn, optim
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
x = torch.randn(96, 8)
y = (x[:, 0] > 0).long()
trainloader = DataLoader(TensorDataset(x[:64], y[:64]), batch_size=16, shuffle=True)
testloader = DataLoader(TensorDataset(x[64:], y[64:]), batch_size=16)

model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
optimizer = optim.SGD(model.parameters(), lr=0.1)
images, labels = next(iter(trainloader))
loss = nn.functional.cross_entropy(model(images), labels)
loss.backward()
print("gradient norm of the first layer:", round(model[0].weight.grad.norm().item(), 4))

w = torch.zeros(8, requires_grad=True)
for images, labels in trainloader:
    loss = (images @ w - labels.float()).pow(2).mean()
    loss.backward()
    with torch.no_grad():
        w -= 0.1 * w.grad
        w.grad.zero_()
print("by hand:", round(loss.item(), 4))

model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
optimizer = optim.SGD(model.parameters(), lr=0.1)
for epoch in range(2):
    for images, labels in trainloader:
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
    correct = 0
    with torch.no_grad():
        for images, labels in testloader:
            correct += (model(images).argmax(1) == labels).sum().item()
    print(f"epoch {epoch}: {correct} of 32 right")
print("first layer's bias:", model[0].bias.detach().sum().item())

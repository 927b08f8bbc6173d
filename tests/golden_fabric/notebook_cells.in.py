"""A notebook's cells run top to bottom: a model looked at layer by layer (`model[0]`), then a
fresh model and optimizer trained, with a test pass inside the batch loop that rebinds the
batch's names."""
import torch
from torch import nn, optim
from torch.utils.data import DataLoader, TensorDataset

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
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
print("layers:", len(model), [type(layer).__name__ for layer in model])

model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
model.to(device)
optimizer = optim.SGD(model.parameters(), lr=0.1)
steps = 0
for epoch in range(2):
    for images, labels in trainloader:
        steps += 1
        images, labels = images.to(device), labels.to(device)
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
        if steps % 3 == 0:
            correct = 0
            with torch.no_grad():
                for images, labels in testloader:
                    images, labels = images.to(device), labels.to(device)
                    correct += (model(images).argmax(1) == labels).sum().item()
            print(f"step {steps}: {correct} of 32 right")
print("first layer's bias:", model[0].bias.detach().sum().item())

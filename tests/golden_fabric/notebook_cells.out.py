"""A notebook's cells run top to bottom: a model looked at layer by layer (`model[0]`), then a
fresh model and optimizer trained, with a test pass inside the batch loop that rebinds the
batch's names."""
import torch
from torch import nn, optim
from torch.utils.data import DataLoader, TensorDataset
from lightning_fabric import Fabric

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
fabric = Fabric(accelerator=torch.device(device).type)
fabric.launch()
torch.manual_seed(0)
x = torch.randn(96, 8)
y = (x[:, 0] > 0).long()
trainloader = DataLoader(TensorDataset(x[:64], y[:64]), batch_size=16, shuffle=True)
testloader = DataLoader(TensorDataset(x[64:], y[64:]), batch_size=16)
trainloader, testloader = fabric.setup_dataloaders(trainloader, testloader)

model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
model = fabric.setup_module(model)
optimizer = optim.SGD(model.parameters(), lr=0.1)
optimizer = fabric.setup_optimizers(optimizer)
images, labels = next(iter(trainloader))
loss = nn.functional.cross_entropy(model(images), labels)
fabric.backward(loss)
fabric.print("gradient norm of the first layer:", round(model.module[0].weight.grad.norm().item(), 4))
fabric.print("layers:", len(model.module), [type(layer).__name__ for layer in model.module])

model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
model = fabric.setup_module(model)
optimizer = optim.SGD(model.parameters(), lr=0.1)
optimizer = fabric.setup_optimizers(optimizer)
steps = 0
for epoch in range(2):
    for images, labels in trainloader:
        steps += 1
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(images), labels)
        fabric.backward(loss)
        optimizer.step()
        if steps % 3 == 0:
            correct = 0
            with torch.no_grad():
                for images, labels in testloader:
                    correct += (model(images).argmax(1) == labels).sum().item()
                if fabric.world_size > 1:  # the totals over all processes' batches
                    correct = fabric.all_reduce(correct, reduce_op="sum").item()
            fabric.print(f"step {steps}: {correct} of 32 right")
fabric.print("first layer's bias:", model.module[0].bias.detach().sum().item())

"""The shape of the classic CIFAR-10 tutorial: running loss printed every 200 mini-batches."""
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
import torchvision
import torchvision.transforms as transforms
import pytorch_lightning as pl

transform = transforms.Compose(
    [transforms.ToTensor(), transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))])

batch_size = 4

trainset = torchvision.datasets.CIFAR10(root='./data', train=True,
                                        download=True, transform=transform)
trainloader = torch.utils.data.DataLoader(trainset, batch_size=batch_size,
                                          shuffle=True, num_workers=0)

testset = torchvision.datasets.CIFAR10(root='./data', train=False,
                                       download=True, transform=transform)
testloader = torch.utils.data.DataLoader(testset, batch_size=batch_size,
                                         shuffle=False, num_workers=0)


class Net(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1) # flatten all dimensions except batch
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x

    def on_train_epoch_start(self):
        self.running_loss = 0.0

    def training_step(self, data, batch_idx):
        # get the inputs; data is a list of [inputs, labels]
        inputs, labels = data

        # forward + backward + optimize
        outputs = self(inputs)
        loss = criterion(outputs, labels)

        # print statistics
        self.running_loss += loss.item()
        if batch_idx % 200 == 199:    # print every 200 mini-batches
            self.print(f'[{self.current_epoch + 1}, {batch_idx + 1:5d}] loss: {self.running_loss / 200:.3f}')
            self.running_loss = 0.0
        self.log("train_loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)
        return loss

    def on_test_epoch_start(self):
        self.correct = 0
        self.total = 0

    def test_step(self, data, batch_idx):
        images, labels = data
        # calculate outputs by running images through the network
        outputs = self(images)
        # the class with the highest energy is what we choose as prediction
        _, predicted = torch.max(outputs.data, 1)
        self.total += labels.size(0)
        self.correct += (predicted == labels).sum().item()

    def on_test_epoch_end(self):
        if self.trainer.world_size > 1:  # the totals over all processes' batches
            self.total = self.all_gather(self.total).sum().item()
            self.correct = self.all_gather(self.correct).sum().item()
        
        self.print(f'Accuracy of the network on the 10000 test images: {100 * self.correct // self.total} %')
        self.log("test_accuracy", 100 * self.correct // self.total, sync_dist=True)

    def configure_optimizers(self):
        optimizer = optim.SGD(self.parameters(), lr=0.001, momentum=0.9)
        return optimizer

    def predict_step(self, data, batch_idx):
        images, labels = data
        return self(images)


net = Net()
criterion = nn.CrossEntropyLoss()

trainer = pl.Trainer(max_epochs=2)
trainer.fit(net, train_dataloaders=trainloader)

print('Finished Training')

PATH = './cifar_net.pth'
if trainer.is_global_zero:
    torch.save(net.state_dict(), PATH)
trainer.strategy.barrier()  # the other processes wait for the file

grads = [p.grad for p in net.parameters()]  # trainer.test clears them as it starts
trainer.test(net, dataloaders=testloader)
for parameter, grad in zip(net.parameters(), grads):
    parameter.grad = grad  # as the loop's test left them

import torch
import torch.nn as nn
import torchvision
import torchvision.transforms as transforms
import pytorch_lightning as pl

# Device configuration
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

# Hyper-parameters
input_size = 784
hidden_size = 50
num_classes = 10
num_epochs = 2
batch_size = 100
learning_rate = 0.001

train_dataset = torchvision.datasets.MNIST(root='../../data', train=True, transform=transforms.ToTensor(), download=True)
test_dataset = torchvision.datasets.MNIST(root='../../data', train=False, transform=transforms.ToTensor())

train_loader = torch.utils.data.DataLoader(dataset=train_dataset, batch_size=batch_size, shuffle=True)
test_loader = torch.utils.data.DataLoader(dataset=test_dataset, batch_size=batch_size, shuffle=False)


# Fully connected neural network with one hidden layer
class NeuralNet(pl.LightningModule):
    def __init__(self, input_size, hidden_size, num_classes):
        super(NeuralNet, self).__init__()
        self.save_hyperparameters()
        self.fc1 = nn.Linear(input_size, hidden_size)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        out = self.fc1(x)
        out = self.relu(out)
        out = self.fc2(out)
        return out

    def training_step(self, batch, batch_idx):
        images, labels = batch
        # Move tensors to the configured device
        images = images.reshape(-1, 28*28)

        # Forward pass
        outputs = self(images)
        loss = criterion(outputs, labels)

        if (batch_idx+1) % 100 == 0:
            self.print ('Epoch [{}/{}], Step [{}/{}], Loss: {:.4f}'
                   .format(self.current_epoch+1, num_epochs, batch_idx+1, total_step, loss.item()))
        self.log("train_loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)
        return loss

    def on_test_epoch_start(self):
        self.correct = 0
        self.total = 0

    def test_step(self, batch, batch_idx):
        images, labels = batch
        images = images.reshape(-1, 28*28)
        outputs = self(images)
        _, predicted = torch.max(outputs.data, 1)
        self.total += labels.size(0)
        self.correct += (predicted == labels).sum().item()

    def on_test_epoch_end(self):
        if self.trainer.world_size > 1:  # the totals over all processes' batches
            self.total = self.all_gather(self.total).sum().item()
            self.correct = self.all_gather(self.correct).sum().item()

        self.print('Accuracy of the network on the 10000 test images: {} %'.format(100 * self.correct / self.total))
        self.log("test_accuracy", 100 * self.correct / self.total, sync_dist=True)

    def configure_optimizers(self):
        optimizer = torch.optim.Adam(self.parameters(), lr=learning_rate)
        return optimizer

    def predict_step(self, batch, batch_idx):
        images, labels = batch
        images = images.reshape(-1, 28*28)
        return self(images)


model = NeuralNet(input_size, hidden_size, num_classes)

# Loss and optimizer
criterion = nn.CrossEntropyLoss()

# Train the model
total_step = len(train_loader)
trainer = pl.Trainer(max_epochs=num_epochs, accelerator=torch.device(device).type)
trainer.fit(model, train_dataloaders=train_loader)

# Test the model
# In test phase, we don't need to compute gradients (for memory efficiency)
grads = [p.grad for p in model.parameters()]  # trainer.test clears them as it starts
trainer.test(model, dataloaders=test_loader)
model.to(device)  # where the loop left it (Lightning's teardown moved it to the CPU)
for parameter, grad in zip(model.parameters(), grads):
    parameter.grad = grad  # as the loop's test left them

# Save the model checkpoint
if trainer.is_global_zero:
    torch.save(model.state_dict(), 'model.ckpt')

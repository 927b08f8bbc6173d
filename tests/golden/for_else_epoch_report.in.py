"""Udacity's intro-to-pytorch loop: the epoch report in the batch loop's `else:` (no `break`,
so it runs after every epoch's batches) becomes on_train_epoch_end."""
import torch
from torch import nn, optim

torch.manual_seed(0)
data = torch.utils.data.TensorDataset(torch.randn(64, 4), (torch.randn(64) > 0).long())
trainloader = torch.utils.data.DataLoader(data, batch_size=16, shuffle=True)
model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2), nn.LogSoftmax(dim=1))
criterion = nn.NLLLoss()
optimizer = optim.SGD(model.parameters(), lr=0.003)

epochs = 3
for e in range(epochs):
    running_loss = 0
    for images, labels in trainloader:
        optimizer.zero_grad()
        output = model(images)
        loss = criterion(output, labels)
        loss.backward()
        optimizer.step()
        running_loss += loss.item()
    else:
        print(f"Training loss: {running_loss/len(trainloader)}")

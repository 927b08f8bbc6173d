# fabric declines: the optimizer is a parameter of train_one_epoch(), which this file never calls
import torch.nn.functional as F


def train_one_epoch(model, optimizer, data_loader, device, epoch):
    model.train()
    for images, labels in data_loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(images.to(device)), labels.to(device))
        loss.backward()
        optimizer.step()
    print(f"epoch {epoch} done")

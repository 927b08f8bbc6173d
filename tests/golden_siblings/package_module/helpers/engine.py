import torch

import helpers.progress as utils


def train_one_epoch(model, optimizer, data_loader, device, epoch):
    model.train()
    loss_function = torch.nn.CrossEntropyLoss()
    mean_loss = torch.zeros(1).to(device)
    data_loader = utils.bar(data_loader, every=4)
    for step, (images, labels) in enumerate(data_loader):
        pred = model(images.to(device))
        loss = loss_function(pred, labels.to(device))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        mean_loss = (mean_loss * step + loss.detach()) / (step + 1)
    return mean_loss.item()

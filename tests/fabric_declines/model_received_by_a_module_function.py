# fabric declines: `model` is a parameter of train(), which this file never calls
import torch
import torch.nn.functional as F


def train(rank, args, model, dataset):
    torch.manual_seed(args.seed + rank)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)
    for data, target in dataset:
        optimizer.zero_grad()
        loss = F.nll_loss(model(data), target)
        loss.backward()
        optimizer.step()

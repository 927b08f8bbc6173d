"""A graph-network shape: one full-batch step per epoch in a function that also evaluates (eval mode inside a helper), so its own model.train() must stay."""
import torch
from torch import nn
import torch.nn.functional as F

torch.manual_seed(0)
features = torch.randn(20, 6)
labels = torch.randint(0, 3, (20,))
idx_train, idx_val = torch.arange(0, 12), torch.arange(12, 20)
model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 3))
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)


def test(model, mask):
    model.eval()
    with torch.no_grad():
        output = model(features)
        loss = F.cross_entropy(output[mask], labels[mask])
    return loss.item()


def train(epoch):
    model.train()
    output = model(features)
    loss_train = F.cross_entropy(output[idx_train], labels[idx_train])
    optimizer.zero_grad()
    loss_train.backward()
    optimizer.step()
    loss_val = test(model, idx_val)
    print("Epoch: {:04d}".format(epoch + 1), "loss_train: {:.4f}".format(loss_train.item()), "loss_val: {:.4f}".format(loss_val))


for epoch in range(5):
    train(epoch)

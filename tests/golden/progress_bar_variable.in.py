"""A tqdm bar held in a variable and updated by hand, and the batch index read after its loop: the loop iterates the loader, the bar statements go (Lightning draws its own)."""
import sys

import torch
from torch import nn
from tqdm import tqdm

model = nn.Linear(4, 3)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
data = torch.utils.data.TensorDataset(torch.randn(32, 4), torch.randint(0, 3, (32,)))
loader = torch.utils.data.DataLoader(data, batch_size=8, shuffle=True)
val_loader = torch.utils.data.DataLoader(data, batch_size=8)
for epoch in range(3):
    model.train()
    running_loss = 0.0
    train_bar = tqdm(loader, file=sys.stdout)
    for step, (x, y) in enumerate(train_bar):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        running_loss += loss.item()
        train_bar.desc = "train epoch[{}] loss:{:.3f}".format(epoch + 1, loss)
    model.eval()
    acc = 0.0
    with torch.no_grad():
        val_bar = tqdm(val_loader, file=sys.stdout)
        for val_x, val_y in val_bar:
            acc += (model(val_x).argmax(1) == val_y).sum().item()
    print("[epoch %d] train_loss: %.3f  val_accuracy: %.3f" % (epoch + 1, running_loss / (step + 1), acc / 32))

"""A full-batch loop (one step a round) that stops once the accuracy it checks every 5 rounds is
high enough: the `break` ends the round, so it becomes `self.trainer.should_stop = True`. Its
targets come from a comparison (a tensor): the hooks read them on the module's device."""
import torch
from torch import nn

torch.manual_seed(0)
x = torch.randn(64, 2)
y = (x[:, 0] + x[:, 1] > 0).float()
model = nn.Linear(2, 1)
loss_fn = nn.BCEWithLogitsLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
for iteration in range(200):
    out = model(x).squeeze()
    loss = loss_fn(out, y)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    if iteration % 5 == 0:
        acc = ((out > 0).float() == y).float().mean().item()
        print("iteration", iteration, "loss %.4f" % loss.item(), "acc %.3f" % acc)
        if acc > 0.95:
            break
print("done")

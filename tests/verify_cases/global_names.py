"""Names the hooks generate meet the script's own: a global `batch` read by the loss, a global `batch_idx`
read in the loop, a global `outputs` list filled after the step (issue 19)."""
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
batch = 16
batch_idx = 3
outputs = []
x = torch.randn(64, 4)
y = x.sum(1, keepdim=True)
loader = DataLoader(TensorDataset(x, y), batch_size=batch, shuffle=True)
model = nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(2):
    for i, (xb, yb) in enumerate(loader):
        optimizer.zero_grad()
        loss = ((model(xb) - yb) ** 2).sum() / batch
        if i < batch_idx:
            loss = loss * 2
        loss.backward()
        optimizer.step()
        outputs.append(model(xb).sum().item())
    print(epoch, round(loss.item(), 6), len(outputs))
print(round(sum(outputs), 4))

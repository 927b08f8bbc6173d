"""A script whose own code after training fails (it plots tensors that require grad): a run that
--max-steps stops never gets there, so verify --lightning-uses cannot tell whether the original
fails there too, and says so rather than blaming the conversion."""

import torch
from torch import nn

torch.manual_seed(0)
model = nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
loader = torch.utils.data.DataLoader(torch.randn(64, 4), batch_size=8)
losses = []
for epoch in range(2):
    for x in loader:
        optimizer.zero_grad()
        loss = model(x).pow(2).mean()
        loss.backward()
        optimizer.step()
        losses.append(loss)
print(sum(losses).detach().numpy().tolist() > 0, losses[-1].numpy())

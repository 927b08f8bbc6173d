# declines: `optimizer` is created once, before the loop at line 9 that repeats the training, and keeps its state from round to round
import torch
from torch import nn

torch.manual_seed(0)
model = nn.Linear(4, 1)
optimizer = torch.optim.Adam(model.parameters(), lr=0.1)  # its moments carry over to round 2
loader = torch.utils.data.DataLoader(torch.randn(32, 4), batch_size=8, shuffle=True)
for rep in range(2):
    for epoch in range(2):
        for i, x in enumerate(loader):
            optimizer.zero_grad()
            loss = model(x).pow(2).mean()
            loss.backward()
            optimizer.step()
        print(rep, epoch, loss.item())

# declines: `steps` is loop state that the module would hold, and the loop at line 9 repeats the training
import torch
from torch import nn

torch.manual_seed(0)
model = nn.Linear(4, 1)
loader = torch.utils.data.DataLoader(torch.randn(32, 4), batch_size=8, shuffle=True)
steps = 0  # counts over both rounds
while steps < 20:
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    for epoch in range(2):
        for i, x in enumerate(loader):
            optimizer.zero_grad()
            loss = model(x).pow(2).mean()
            loss.backward()
            optimizer.step()
            steps += 1
        print(epoch, loss.item(), steps)

# declines: which the training loop changes
import random
import torch
from torch import nn

torch.manual_seed(0)
random.seed(0)
data = [(torch.randn(4), torch.randn(1)) for _ in range(8)]
model = nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(3):
    random.shuffle(data)
    for x, y in data:
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
    print(epoch, loss.item())

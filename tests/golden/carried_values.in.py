"""Values the loop carries from before it: a timer, and a running step counter named like a
LightningModule attribute (global_step)."""
import time

import torch
from torch import nn

torch.manual_seed(0)
model = nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
data = torch.utils.data.TensorDataset(torch.randn(32, 4), torch.randn(32, 1))
loader = torch.utils.data.DataLoader(data, batch_size=8, shuffle=True)
global_step = 0
prev_time = time.time()
for epoch in range(2):
    for x, y in loader:
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        global_step += 1
        elapsed = time.time() - prev_time
        prev_time = time.time()
    print("epoch", epoch, "steps", global_step, "slow" if elapsed > 60 else "fast")

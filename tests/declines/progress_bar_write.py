# declines: `pbar.write(...)` prints through the progress bar the conversion removes
import torch
from torch import nn
from tqdm import tqdm

model = nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
data = torch.utils.data.TensorDataset(torch.randn(8, 4), torch.randn(8, 1))
loader = torch.utils.data.DataLoader(data, batch_size=4)
for epoch in range(2):
    pbar = tqdm(loader)
    for x, y in pbar:
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        pbar.write(f"loss {loss.item()}")

"""A step function called from the batch loop (`loss = train(x, y)`), as sequence-model tutorials write it: its body runs in training_step, what it returns is assigned as the loop did."""
import torch
from torch import nn

torch.manual_seed(0)
model = nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
criterion = nn.MSELoss()
data = torch.utils.data.TensorDataset(torch.randn(32, 4), torch.randn(32, 1))
loader = torch.utils.data.DataLoader(data, batch_size=8, shuffle=True)


def train(x, y):
    optimizer.zero_grad()
    output = model(x)
    err = criterion(output, y)
    err.backward()
    optimizer.step()
    return err.item()


for epoch in range(3):
    total = 0.0
    for x, y in loader:
        loss = train(x, y)
        total += loss
    print(epoch, round(total, 4))

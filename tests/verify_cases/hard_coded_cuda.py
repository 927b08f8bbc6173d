"""A loop written for a GPU machine: `.cuda()` on the model and every batch, a legacy
`torch.cuda.FloatTensor` and `torch.cuda.set_device(0)`; see verify --cuda-on-cpu."""
import torch
from torch import nn

torch.cuda.set_device(0)
torch.manual_seed(0)
data = torch.utils.data.TensorDataset(torch.randn(32, 4), torch.randn(32, 1))
loader = torch.utils.data.DataLoader(data, batch_size=8, shuffle=True)
model = nn.Linear(4, 1).cuda()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scale = torch.cuda.FloatTensor([0.5])
for epoch in range(2):
    for x, y in loader:
        x, y = x.cuda(), y.cuda()
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(x) * scale, y)
        loss.backward()
        optimizer.step()
    print("epoch", epoch, "loss %.4f" % loss.item())

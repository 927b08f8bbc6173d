"""A loop written for a GPU machine: `.cuda()` on the model and every batch, a legacy
`torch.cuda.FloatTensor`, `torch.cuda.set_device(0)`, a `torch.device("cuda")` and tensors made
on it; see verify --cuda-on-cpu."""
import torch
from torch import nn

torch.cuda.set_device(0)
torch.manual_seed(0)
data = torch.utils.data.TensorDataset(torch.randn(32, 4), torch.randn(32, 1))
loader = torch.utils.data.DataLoader(data, batch_size=8, shuffle=True)
model = nn.Linear(4, 1).cuda()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scale = torch.cuda.FloatTensor([0.5])
device = torch.device("cuda")
model.to(device)
shift = torch.zeros(1, device="cuda:0") + torch.ones(1).to(0) + torch.ones(1).to(device)
for epoch in range(2):
    for x, y in loader:
        x, y = x.cuda(), y.cuda()
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(x) * scale + shift, y.to(device))
        loss.backward()
        optimizer.step()
    print("epoch", epoch, "loss %.4f" % loss.item())

"""Devices named literally inside the loop: `x.to("cuda")`, `device="cuda"`, `torch.device(
"cuda:0")`, `.cuda(0)` (issue 19): in the hooks each becomes the module's device, so that the
conversion runs on the CPU and each process on several GPUs uses its own. verify --cuda-on-cpu
runs the original on a CPU."""
import torch
from torch import nn

torch.manual_seed(0)
data = torch.utils.data.TensorDataset(torch.randn(32, 4), torch.randn(32, 1))
loader = torch.utils.data.DataLoader(data, batch_size=8, shuffle=True)
model = nn.Linear(4, 1).to("cuda")
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(2):
    for x, y in loader:
        x, y = x.to("cuda"), y.to(torch.device("cuda:0"))
        optimizer.zero_grad()
        shift = torch.ones(1, device="cuda") * 0.1
        scale = torch.full((1,), 0.5).to("cuda:0")
        bias = torch.zeros(1).cuda(0)
        gpu = torch.device("cuda:0")
        loss = nn.functional.mse_loss(model(x) * scale + shift + bias, y.to(gpu))
        loss.backward()
        optimizer.step()
    print("epoch", epoch, "loss %.4f" % loss.item())

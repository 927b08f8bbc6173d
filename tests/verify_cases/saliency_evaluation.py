"""An evaluation that needs gradients: a saliency map by torch.autograd.grad on the inputs, each
epoch, and a test once after training with torch.enable_grad() inside torch.no_grad() (issue 19).
Lightning evaluates under inference mode by default, where neither can run."""
import torch
from torch import nn

torch.manual_seed(0)
x = torch.randn(48, 4)
y = (x[:, 0] > 0).long()
train = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x[:32], y[:32]), batch_size=8)
val = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x[32:], y[32:]), batch_size=8)
model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
for epoch in range(3):
    model.train()
    for xb, yb in train:
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(xb), yb)
        loss.backward()
        optimizer.step()
    model.eval()
    saliency = 0.0
    for xb, yb in val:
        xb = xb.clone().requires_grad_()
        score = model(xb).gather(1, yb[:, None]).sum()
        (grad,) = torch.autograd.grad(score, xb)
        saliency += grad.abs().sum().item()
    print(f"epoch {epoch}: saliency {saliency:.5f}")

model.eval()
correct, strength = 0, 0.0
with torch.no_grad():
    for xb, yb in val:
        correct += (model(xb).argmax(1) == yb).sum().item()
        with torch.enable_grad():
            xb = xb.clone().requires_grad_()
            (grad,) = torch.autograd.grad(model(xb).max(1).values.sum(), xb)
            strength += grad.norm().item()
print(f"test: {correct} correct, strength {strength:.5f}")

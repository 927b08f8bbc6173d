"""An old loop: `loss.data[0]` and `iter(loader).next()` (PyTorch 0.3), `torch.load` of a
pickled array (before 2.6), a scheduler's `verbose=` (before 2.7), BCE of a target shaped
`[8]` for an input `[8, 1]` (before 1.5), torchvision's `Scale` and a 3-channel `Normalize` of a
1-channel image (before 0.2.2), NumPy's `np.Inf` (before 2.0) and matplotlib's grid of whole
floats (before 3.3); see verify --old-torch-api."""
import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn
from torchvision import transforms

image = transforms.Compose([transforms.Scale(4), transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))])
print("image", image(torch.ones(1, 8, 8)).sum().item())
plt.figure().add_subplot(2, 20 / 2, 1)
best = np.Inf
print("best", best)

torch.manual_seed(0)
data = torch.utils.data.TensorDataset(torch.randn(32, 4), torch.randn(32, 1))
loader = torch.utils.data.DataLoader(data, batch_size=8, shuffle=True)
model = nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
sample, _ = iter(loader).next()
print("sample", sample.shape[0])
torch.save(np.arange(4.0), "data.pt")
print("loaded", torch.load("data.pt").sum())
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5, verbose=True)
for epoch in range(2):
    for x, y in loader:
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
    scheduler.step()
    print("epoch", epoch, "loss %.4f" % loss.data[0])
    side = nn.functional.binary_cross_entropy(torch.sigmoid(model(x)), torch.ones(8))
    print("bce %.4f" % side.data[0], torch.tensor([side]).shape)  # still a 0-dim tensor

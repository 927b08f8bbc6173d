# fabric declines: no training loop
import torch

x = torch.ones(2, 2, requires_grad=True)
y = (x * 3).sum()
print(y)

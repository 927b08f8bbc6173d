"""Tensor basics, no training loop: the converter declines it (out of scope), verify says so."""

import torch

x = torch.arange(6.0).reshape(2, 3)
print(x @ x.T)

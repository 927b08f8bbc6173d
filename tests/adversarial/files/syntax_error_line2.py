import torch
for x in range(3)
    loss.backward()
    opt.step()

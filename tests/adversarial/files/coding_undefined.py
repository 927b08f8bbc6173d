# coding: undefined
import torch

loss.backward()
opt.step()

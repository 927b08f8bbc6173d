# fabric declines: it does not compile: name 'model' is used prior to global declaration
import torch
from torch import nn

model = nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for x in torch.randn(4, 8, 4):
    model.train()
    global model  # LibCST parses this; CPython refuses it
    optimizer.zero_grad()
    model(x).sum().backward()
    optimizer.step()

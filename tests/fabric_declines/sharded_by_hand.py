# fabric declines: it shards or distributes the model itself (`torch.distributed.fsdp`)
import torch
from torch import nn
from torch.distributed.fsdp import fully_shard

model = nn.Linear(4, 1)
fully_shard(model)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for x in torch.randn(4, 8, 4):
    optimizer.zero_grad()
    model(x).sum().backward()
    optimizer.step()

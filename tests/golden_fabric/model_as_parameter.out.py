"""The model is made by the caller and handed to the training function, which creates the
optimizer over it (Udacity's char-RNN notebook): Fabric sets both up there, and the function
still hands back the very module it received."""
import torch
from torch import nn
from lightning_fabric import Fabric
from lightning_fabric.utilities import rank_zero_only

train_on_gpu = torch.cuda.is_available()


def train(net, data, epochs=2, lr=0.01, clip=5):
    fabric = Fabric()
    fabric.launch()
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    net, opt = fabric.setup(net, opt)
    for e in range(epochs):
        for x, y in data:
            if train_on_gpu:
                x, y = x.to(fabric.device), y.to(fabric.device)
            net.zero_grad()
            loss = nn.functional.mse_loss(net(x), y)
            fabric.backward(loss)
            fabric.clip_gradients(net, opt, max_norm=clip, error_if_nonfinite=False)
            opt.step()
        fabric.print(f"epoch {e}: loss {loss.item():.4f}")
    return net.module


torch.manual_seed(0)
net = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
print(net)
data = [(torch.randn(8, 4), torch.randn(8, 1)) for _ in range(4)]
trained = train(net, data)
if rank_zero_only.rank == 0:
    print("the same module back:", trained is net, round(trained[0].weight.sum().item(), 4))

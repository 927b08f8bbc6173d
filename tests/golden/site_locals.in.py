"""Locals of main() the loop needs, one of them bound by a `with` statement."""
import io

import torch
from torch import nn


def main():
    torch.manual_seed(1)
    with io.StringIO("note: tiny run\n") as handle:
        banner = handle.readline().strip()
    scale = 0.5
    data = torch.utils.data.TensorDataset(torch.randn(40, 3), torch.randn(40, 1))
    loader = torch.utils.data.DataLoader(data, batch_size=10, shuffle=True)
    model = nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for epoch in range(2):
        for step, (x, y) in enumerate(loader):
            optimizer.zero_grad()
            loss = scale * nn.functional.mse_loss(model(x), y)
            loss.backward()
            optimizer.step()
            if step == 0:
                print(banner, epoch, loss.item())


if __name__ == "__main__":
    main()

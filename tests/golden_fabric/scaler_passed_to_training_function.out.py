"""Mixed precision in a training function that receives its GradScaler and clips the unscaled
gradients, as the PyTorch AMP recipe teaches."""
import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
import os
from lightning_fabric import Fabric


def train_fn(loader, model, optimizer, loss_fn, scaler, device, fabric):
    for data, targets in loader:
        with torch.autocast("cuda", dtype=torch.float16):
            scores = model(data)
            loss = loss_fn(scores, targets)
        optimizer.zero_grad()
        fabric.backward(scaler.scale(loss))
        scaler.unscale_(optimizer)
        nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        scaler.step(optimizer)
        scaler.update()
    return loss.item()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--devices", default=os.environ.get("LOCAL_WORLD_SIZE", "auto"), help="devices per node (default: torchrun's --nproc-per-node, else auto): a number, a list like 0,1, or auto")
    parser.add_argument("--num-nodes", type=int, default=int(os.environ.get("GROUP_WORLD_SIZE", 1)), help="machines to train on (default: torchrun's --nnodes, else 1)")
    parser.add_argument("--strategy", default="auto", help="Lightning strategy: auto, ddp, fsdp, deepspeed...")
    args = parser.parse_args()

    torch.manual_seed(5)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    # 32-true: the script's own GradScaler and autocast do the mixed precision
    fabric = Fabric(
        accelerator=torch.device(device).type,
        devices=args.devices,
        num_nodes=args.num_nodes,
        precision="32-true",
        strategy=args.strategy,
    )
    fabric.launch()
    dataset = TensorDataset(torch.randn(96, 1, 28, 28), torch.randint(0, 10, (96,)))
    loader = DataLoader(dataset, batch_size=32, shuffle=True)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 26 * 26, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    model, optimizer = fabric.setup(model, optimizer)
    loader = fabric.setup_dataloaders(loader)
    loss_fn = nn.CrossEntropyLoss()
    scaler = torch.amp.GradScaler("cuda")
    for epoch in range(args.epochs):
        loss = train_fn(loader, model, optimizer, loss_fn, scaler, fabric.device, fabric)
        fabric.print(f"epoch {epoch}: loss {loss:.4f}, scale {scaler.get_scale()}")


if __name__ == "__main__":
    main()

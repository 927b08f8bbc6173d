"""Trains until the loss reaches a target or a step budget runs out, validating every 20 steps:
a `while` loop around the batch loop, a data-dependent `break` and an evaluation inside the batch
loop, none of which the Trainer can take."""
import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
import os
from lightning_fabric import Fabric


def evaluate(model, loader, step, fabric):
    model.eval()
    total_loss, correct = 0.0, 0
    with torch.no_grad():
        for x, y in loader:
            out = model(x)
            total_loss += nn.functional.cross_entropy(out, y, reduction="sum").item()
            correct += (out.argmax(1) == y).sum().item()
        if fabric.world_size > 1:  # the totals over all processes' batches
            total_loss = fabric.all_reduce(total_loss, reduce_op="sum").item()
            correct = fabric.all_reduce(correct, reduce_op="sum").item()
    n = len(loader.dataset)
    fabric.print(f"step {step}: validation loss {total_loss / n:.4f}, {correct}/{n} correct")
    model.train()
    return total_loss / n


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-steps", type=int, default=60)
    parser.add_argument("--target-loss", type=float, default=0.05)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--accelerator", default="auto", help="Lightning accelerator: cpu, gpu, tpu, mps or auto")
    parser.add_argument("--devices", default=os.environ.get("LOCAL_WORLD_SIZE", "auto"), help="devices per node (default: torchrun's --nproc-per-node, else auto): a number, a list like 0,1, or auto")
    parser.add_argument("--num-nodes", type=int, default=int(os.environ.get("GROUP_WORLD_SIZE", 1)), help="machines to train on (default: torchrun's --nnodes, else 1)")
    parser.add_argument("--precision", default="32-true", help="32-true, 16-mixed, bf16-mixed...")
    parser.add_argument("--strategy", default="auto", help="Lightning strategy: auto, ddp, fsdp, deepspeed...")
    args = parser.parse_args()

    fabric = Fabric(
        accelerator=args.accelerator,
        devices=args.devices,
        num_nodes=args.num_nodes,
        precision=args.precision,
        strategy=args.strategy,
    )
    fabric.launch()

    torch.manual_seed(0)
    x = torch.randn(256, 10)
    y = (x[:, 0] + x[:, 1] > 0).long()
    # 64 validation items: two processes get 32 each, no padding by the distributed sampler
    train_loader = DataLoader(TensorDataset(x[:192], y[:192]), batch_size=16, shuffle=True)
    val_loader = DataLoader(TensorDataset(x[192:], y[192:]), batch_size=16)
    model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Dropout(0.1), nn.Linear(32, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    model, optimizer = fabric.setup(model, optimizer)
    train_loader, val_loader = fabric.setup_dataloaders(train_loader, val_loader)

    step, best = 0, float("inf")
    done = False
    while not done:
        for inputs, labels in train_loader:
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(inputs), labels)
            fabric.backward(loss)
            optimizer.step()
            step += 1
            if step % 20 == 0:
                best = min(best, evaluate(model, val_loader, step, fabric))
            if loss.item() < args.target_loss or step >= args.max_steps:
                done = True
                break
    fabric.print(f"stopped after {step} steps, best validation loss {best:.4f}")
    fabric.save("model.pt", model.state_dict())


if __name__ == "__main__":
    main()

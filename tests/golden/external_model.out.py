"""Fine-tune a torchvision ResNet-18 on random tensors (a model the script does not define)."""
import argparse

import torch
import torch.nn as nn
import torchvision
from torch.utils.data import DataLoader, TensorDataset
import os
import pytorch_lightning as pl


class LitResnet18(pl.LightningModule):
    """Trains `model`, an nn.Module whose class stays as it is: it keeps its own state-dict keys."""

    def __init__(self, model, lr=0.01):
        super().__init__()
        self.model = model
        self.save_hyperparameters(ignore=["model"])
        self.criterion = nn.CrossEntropyLoss()

    def forward(self, *args, **kwargs):
        return self.model(*args, **kwargs)

    def on_train_epoch_start(self):
        self.running_loss = 0.0

    def training_step(self, batch, batch_idx):
        inputs, targets = batch
        loss = self.criterion(self.model(inputs), targets)
        self.running_loss += loss.item()
        self.log("train_loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)
        return loss

    def on_train_epoch_end(self):
        if self.trainer.world_size > 1:  # the totals over all processes' batches
            self.running_loss = self.all_gather(self.running_loss).sum().item()
        self.print(f"epoch {self.current_epoch}: loss {self.running_loss / (self.trainer.num_training_batches * self.trainer.world_size):.4f}")

    def configure_optimizers(self):
        optimizer = torch.optim.SGD(self.model.parameters(), lr=self.hparams.lr, momentum=0.9)
        return optimizer

    def predict_step(self, batch, batch_idx):
        inputs, targets = batch
        return self(inputs)


def main():
    parser = argparse.ArgumentParser(description="ResNet-18 on random data")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--accelerator", default="auto", help="Lightning accelerator: cpu, gpu, tpu, mps or auto")
    parser.add_argument("--devices", default=os.environ.get("LOCAL_WORLD_SIZE", "auto"), help="devices per node (default: torchrun's --nproc-per-node, else auto): a number, a list like 0,1, or auto")
    parser.add_argument("--num-nodes", type=int, default=int(os.environ.get("GROUP_WORLD_SIZE", 1)), help="machines to train on (default: torchrun's --nnodes, else 1)")
    parser.add_argument("--precision", default="32-true", help="32-true, 16-mixed, bf16-mixed...")
    args = parser.parse_args()

    torch.manual_seed(0)
    images = torch.randn(64, 3, 32, 32)
    labels = torch.randint(0, 10, (64,))
    loader = DataLoader(TensorDataset(images, labels), batch_size=args.batch_size, shuffle=True)

    model = torchvision.models.resnet18(num_classes=10)

    lit_model = LitResnet18(model, lr=args.lr)
    trainer = pl.Trainer(
        max_epochs=args.epochs,
        accelerator=args.accelerator,
        devices=args.devices,
        num_nodes=args.num_nodes,
        precision=args.precision,
    )
    trainer.fit(lit_model, train_dataloaders=loader)

    if trainer.is_global_zero:
        torch.save(model.state_dict(), "resnet18.pt")


if __name__ == "__main__":
    main()

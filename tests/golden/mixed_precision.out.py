"""Mixed precision the usual way: autocast around the forward pass and a GradScaler."""
import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
import os
import pytorch_lightning as pl


class LitSequential(pl.LightningModule):
    """Trains `model`, an nn.Module whose class stays as it is: it keeps its own state-dict keys."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, *args, **kwargs):
        return self.model(*args, **kwargs)

    def training_step(self, batch, batch_idx):
        inputs, labels = batch
        self.loss = nn.functional.cross_entropy(self.model(inputs), labels)
        self.log("train_loss", self.loss, prog_bar=True, on_epoch=True, sync_dist=True)
        return self.loss

    def on_train_epoch_end(self):
        self.print(f"epoch {self.current_epoch} loss {self.loss.item():.4f}")

    def configure_optimizers(self):
        optimizer = torch.optim.SGD(self.model.parameters(), lr=0.1)
        return optimizer

    def predict_step(self, batch, batch_idx):
        inputs, labels = batch
        return self(inputs)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--amp", action="store_true", help="mixed precision on the GPU")
    parser.add_argument("--devices", default=os.environ.get("LOCAL_WORLD_SIZE", "auto"), help="devices per node (default: torchrun's --nproc-per-node, else auto): a number, a list like 0,1, or auto")
    parser.add_argument("--num-nodes", type=int, default=int(os.environ.get("GROUP_WORLD_SIZE", 1)), help="machines to train on (default: torchrun's --nnodes, else 1)")
    args = parser.parse_args()

    torch.manual_seed(11)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    data = TensorDataset(torch.randn(96, 12), torch.randint(0, 4, (96,)))
    loader = DataLoader(data, batch_size=16, shuffle=True)
    model = nn.Sequential(nn.Linear(12, 64), nn.GELU(), nn.Linear(64, 4))

    lit_model = LitSequential(model)
    trainer = pl.Trainer(
        max_epochs=args.epochs,
        accelerator=torch.device(device).type,
        precision="16-mixed" if args.amp and torch.cuda.is_available() else "32-true",
        devices=args.devices,
        num_nodes=args.num_nodes,
    )
    trainer.fit(lit_model, train_dataloaders=loader)


if __name__ == "__main__":
    main()

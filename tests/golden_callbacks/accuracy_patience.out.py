"""A classifier that stops once its validation accuracy has not risen for `--patience` epochs."""
import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
import os
import pytorch_lightning as pl


class Classifier(pl.LightningModule):
    def __init__(self, patience=3):
        super().__init__()
        self.save_hyperparameters()
        self.layers = nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Linear(32, 3))

    def forward(self, x):
        return self.layers(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = nn.functional.cross_entropy(self(x), y)
        self.log("train_loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)
        return loss

    def on_validation_epoch_start(self):
        self.correct = 0

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.correct += (self(x).argmax(1) == y).sum().item()

    def on_validation_epoch_end(self):
        if self.trainer.world_size > 1:  # the totals over all processes' batches
            self.correct = self.all_gather(self.correct).sum().item()
        accuracy = self.correct / len(self.trainer.val_dataloaders.dataset)
        self.log("val_accuracy", torch.as_tensor(accuracy, dtype=torch.float64), sync_dist=True)

        if self.trainer.state.fn == "fit" and not self.trainer.sanity_checking:
            # the rest of the training epoch, which reads this validation's results
            self.print(f"epoch {self.current_epoch}: accuracy {accuracy:.3f}")

    def configure_optimizers(self):
        optimizer = torch.optim.Adam(self.parameters(), lr=0.01)
        return optimizer

    def predict_step(self, batch, batch_idx):
        x, y = batch
        return self(x)

    def on_validation_model_zero_grad(self):
        """Lightning clears the gradients here; the loop kept the last batch's through evaluation."""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--patience", type=int, default=3)
    parser.add_argument("--accelerator", default="auto", help="Lightning accelerator: cpu, gpu, tpu, mps or auto")
    parser.add_argument("--devices", default=os.environ.get("LOCAL_WORLD_SIZE", "auto"), help="devices per node (default: torchrun's --nproc-per-node, else auto): a number, a list like 0,1, or auto")
    parser.add_argument("--num-nodes", type=int, default=int(os.environ.get("GROUP_WORLD_SIZE", 1)), help="machines to train on (default: torchrun's --nnodes, else 1)")
    parser.add_argument("--precision", default="32-true", help="32-true, 16-mixed, bf16-mixed...")
    args = parser.parse_args()

    torch.manual_seed(4)
    inputs = torch.randn(240, 6)
    classes = (inputs[:, :3].sum(1) > 0).long() + (inputs[:, 3:].sum(1) > 1).long()
    train_loader = DataLoader(TensorDataset(inputs[:200], classes[:200]), batch_size=20, shuffle=True)
    val_loader = DataLoader(TensorDataset(inputs[200:], classes[200:]), batch_size=20)

    model = Classifier(patience=args.patience)
    trainer = pl.Trainer(
        max_epochs=args.epochs,
        accelerator=args.accelerator,
        devices=args.devices,
        num_nodes=args.num_nodes,
        precision=args.precision,
        callbacks=[pl.callbacks.EarlyStopping(monitor="val_accuracy", mode="max", patience=model.hparams.patience, check_finite=False)],
    )
    trainer.fit(model, train_dataloaders=train_loader, val_dataloaders=val_loader)
    model.eval()  # as the loop left it (Lightning restores the mode after evaluating)


if __name__ == "__main__":
    main()

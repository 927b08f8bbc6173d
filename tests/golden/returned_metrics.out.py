"""A modern script: functions that return their metrics, and a summary line per epoch."""
import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
import os
import pytorch_lightning as pl


class MLP(pl.LightningModule):
    def __init__(self, width: int = 64, lr=3e-3, epochs=3) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.criterion = nn.CrossEntropyLoss()
        self.net = nn.Sequential(nn.Linear(16, width), nn.ReLU(), nn.Dropout(0.1), nn.Linear(width, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def on_train_epoch_start(self):
        self.running_loss = 0.0

    def training_step(self, batch, batch_idx):
        inputs, targets = batch
        loss = self.criterion(self(inputs), targets)
        self.running_loss += loss.item() * inputs.size(0)
        self.log("train_loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)
        return loss

    def on_train_batch_end(self, outputs, batch, batch_idx):
        if self.trainer.is_last_batch:
            # the training epoch's wrap-up: Lightning validates right after the last batch
            if self.trainer.world_size > 1:  # the totals over all processes' batches
                self.running_loss = self.all_gather(self.running_loss).sum().item()
            self.train_loss = self.running_loss / len(self.trainer.train_dataloader.dataset)

    def on_validation_epoch_start(self):
        self.total_loss, self.correct = 0.0, 0

    def validation_step(self, batch, batch_idx):
        inputs, targets = batch
        outputs = self(inputs)
        self.total_loss += self.criterion(outputs, targets).item() * inputs.size(0)
        self.correct += (outputs.argmax(dim=1) == targets).sum().item()

    def on_validation_epoch_end(self):
        if self.trainer.world_size > 1:  # the totals over all processes' batches
            self.total_loss = self.all_gather(self.total_loss).sum().item()
            self.correct = self.all_gather(self.correct).sum().item()
        val_loss, val_acc = self.total_loss / len(self.trainer.val_dataloaders.dataset), self.correct / len(self.trainer.val_dataloaders.dataset)
        self.log("val_loss", val_loss, sync_dist=True)
        self.log("val_acc", val_acc, sync_dist=True)

        if self.trainer.state.fn == "fit" and not self.trainer.sanity_checking:
            # the rest of the training epoch, which reads this validation's results
            self.print(f"epoch {self.current_epoch + 1}: train {self.train_loss:.4f}  val {val_loss:.4f}  acc {val_acc:.3f}")

    def configure_optimizers(self):
        optimizer = torch.optim.AdamW(self.parameters(), lr=self.hparams.lr)
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=self.hparams.epochs)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"},
        }

    def predict_step(self, batch, batch_idx):
        inputs, targets = batch
        return self(inputs)

    def on_validation_model_zero_grad(self):
        """Lightning clears the gradients here; the loop kept the last batch's through evaluation."""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--devices", default=os.environ.get("LOCAL_WORLD_SIZE", "auto"), help="devices per node (default: torchrun's --nproc-per-node, else auto): a number, a list like 0,1, or auto")
    parser.add_argument("--num-nodes", type=int, default=int(os.environ.get("GROUP_WORLD_SIZE", 1)), help="machines to train on (default: torchrun's --nnodes, else 1)")
    parser.add_argument("--precision", default="32-true", help="32-true, 16-mixed, bf16-mixed...")
    args = parser.parse_args()

    torch.manual_seed(0)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    train_set = TensorDataset(torch.randn(320, 16), torch.randint(0, 4, (320,)))
    val_set = TensorDataset(torch.randn(80, 16), torch.randint(0, 4, (80,)))
    train_loader = DataLoader(train_set, batch_size=32, shuffle=True)
    val_loader = DataLoader(val_set, batch_size=64)

    model = MLP(lr=args.lr, epochs=args.epochs)

    trainer = pl.Trainer(
        max_epochs=args.epochs,
        accelerator=torch.device(device).type,
        devices=args.devices,
        num_nodes=args.num_nodes,
        precision=args.precision,
    )
    trainer.fit(model, train_dataloaders=train_loader, val_dataloaders=val_loader)
    model.eval()  # as the loop left it (Lightning restores the mode after evaluating)
    model.to(device)  # where the loop left it (Lightning's teardown moved it to the CPU)

    if trainer.is_global_zero:
        torch.save(model.state_dict(), "mlp.pt")


if __name__ == "__main__":
    main()

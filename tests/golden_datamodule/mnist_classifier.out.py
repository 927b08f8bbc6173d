import argparse

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.optim.lr_scheduler import StepLR
from torchvision import datasets, transforms
import os
import pytorch_lightning as pl


class Net(pl.LightningModule):
    def __init__(self, lr=1.0, gamma=0.7, log_interval=10):
        super(Net, self).__init__()
        self.save_hyperparameters()
        self.conv1 = nn.Conv2d(1, 16, 3, 1)
        self.conv2 = nn.Conv2d(16, 32, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(4608, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        output = F.log_softmax(x, dim=1)
        return output

    def training_step(self, batch, batch_idx):
        data, target = batch
        output = self(data)
        loss = F.nll_loss(output, target)
        if batch_idx % self.hparams.log_interval == 0:
            self.print(
                "Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}".format(
                    self.current_epoch + 1,
                    batch_idx * len(data),
                    len(self.trainer.train_dataloader.dataset),
                    100.0 * batch_idx / self.trainer.num_training_batches,
                    loss.item(),
                )
            )
        self.log("train_loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)
        return loss

    def on_validation_epoch_start(self):
        self.test_loss = 0
        self.correct = 0

    def validation_step(self, batch, batch_idx):
        data, target = batch
        output = self(data)
        # sum up batch loss
        self.test_loss += F.nll_loss(output, target, reduction="sum").item()
        # get the index of the max log-probability
        pred = output.argmax(dim=1, keepdim=True)
        self.correct += pred.eq(target.view_as(pred)).sum().item()

    def on_validation_epoch_end(self):
        if self.trainer.world_size > 1:  # the totals over all processes' batches
            self.test_loss = self.all_gather(self.test_loss).sum().item()
            self.correct = self.all_gather(self.correct).sum().item()

        self.test_loss /= len(self.trainer.val_dataloaders.dataset)

        self.print(
            "\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)\n".format(
                self.test_loss,
                self.correct,
                len(self.trainer.val_dataloaders.dataset),
                100.0 * self.correct / len(self.trainer.val_dataloaders.dataset),
            )
        )
        self.log("val_accuracy", 100.0 * self.correct / len(self.trainer.val_dataloaders.dataset), sync_dist=True)
        self.log("val_loss", self.test_loss, sync_dist=True)

    def configure_optimizers(self):
        optimizer = optim.Adadelta(self.parameters(), lr=self.hparams.lr)

        scheduler = StepLR(optimizer, step_size=1, gamma=self.hparams.gamma)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"},
        }

    def predict_step(self, batch, batch_idx):
        data, target = batch
        return self(data)

    def on_validation_model_zero_grad(self):
        """Lightning clears the gradients here; the loop kept the last batch's through evaluation."""


class MNISTDataModule(pl.LightningDataModule):
    """The data the training reads: Lightning calls `setup` in each process, then asks the
    `*_dataloader` hooks for the loaders of `fit`, `validate`, `test` and `predict`."""

    def __init__(self, batch_size=64, test_batch_size=1000, data_dir="../data", device=None):
        super().__init__()
        self.save_hyperparameters(ignore=["device"])
        self.device = device

    def setup(self, stage):
        self.train_kwargs = {"batch_size": self.hparams.batch_size, "shuffle": True}
        self.test_kwargs = {"batch_size": self.hparams.test_batch_size}
        if self.device.type == "cuda":
            cuda_kwargs = {"num_workers": 1, "pin_memory": True}
            self.train_kwargs.update(cuda_kwargs)
            self.test_kwargs.update(cuda_kwargs)

        transform = transforms.Compose(
            [transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))]
        )
        self.dataset1 = datasets.MNIST(
            self.hparams.data_dir, train=True, download=True, transform=transform
        )
        self.dataset2 = datasets.MNIST(self.hparams.data_dir, train=False, transform=transform)

    def train_dataloader(self):
        return torch.utils.data.DataLoader(self.dataset1, **self.train_kwargs)

    def val_dataloader(self):
        return torch.utils.data.DataLoader(self.dataset2, **self.test_kwargs)

    def predict_dataloader(self):
        """What `trainer.predict` goes over: the batches `predict_step` unpacks."""
        return self.val_dataloader()


def main():
    # Training settings
    parser = argparse.ArgumentParser(description="PyTorch MNIST Example")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=64,
        metavar="N",
        help="input batch size for training (default: 64)",
    )
    parser.add_argument(
        "--test-batch-size",
        type=int,
        default=1000,
        metavar="N",
        help="input batch size for testing (default: 1000)",
    )
    parser.add_argument(
        "--epochs",
        type=int,
        default=14,
        metavar="N",
        help="number of epochs to train (default: 14)",
    )
    parser.add_argument(
        "--lr",
        type=float,
        default=1.0,
        metavar="LR",
        help="learning rate (default: 1.0)",
    )
    parser.add_argument(
        "--gamma",
        type=float,
        default=0.7,
        metavar="M",
        help="Learning rate step gamma (default: 0.7)",
    )
    parser.add_argument(
        "--seed", type=int, default=1, metavar="S", help="random seed (default: 1)"
    )
    parser.add_argument(
        "--log-interval",
        type=int,
        default=10,
        metavar="N",
        help="how many batches to wait before logging training status",
    )
    parser.add_argument(
        "--data-dir",
        default="../data",
        help="where MNIST is stored / downloaded (default: ../data)",
    )
    parser.add_argument(
        "--save-model",
        action="store_true",
        default=False,
        help="For Saving the current Model",
    )
    parser.add_argument("--devices", default=os.environ.get("LOCAL_WORLD_SIZE", "auto"), help="devices per node (default: torchrun's --nproc-per-node, else auto): a number, a list like 0,1, or auto")
    parser.add_argument("--num-nodes", type=int, default=int(os.environ.get("GROUP_WORLD_SIZE", 1)), help="machines to train on (default: torchrun's --nnodes, else 1)")
    parser.add_argument("--precision", default="32-true", help="32-true, 16-mixed, bf16-mixed...")
    args = parser.parse_args()

    torch.manual_seed(args.seed)

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

    datamodule = MNISTDataModule(
        batch_size=args.batch_size,
        test_batch_size=args.test_batch_size,
        data_dir=args.data_dir,
        device=device,
    )

    model = Net(lr=args.lr, gamma=args.gamma, log_interval=args.log_interval)
    trainer = pl.Trainer(
        max_epochs=args.epochs,
        num_sanity_val_steps=0,
        accelerator=torch.device(device).type,
        devices=args.devices,
        num_nodes=args.num_nodes,
        precision=args.precision,
    )
    trainer.fit(model, datamodule=datamodule)
    model.eval()  # as the loop left it (Lightning restores the mode after evaluating)
    model.to(device)  # where the loop left it (Lightning's teardown moved it to the CPU)

    if args.save_model:
        if trainer.is_global_zero:
            torch.save(model.state_dict(), "mnist_cnn.pt")


if __name__ == "__main__":
    main()

"""An evaluation run under an if in the epoch loop stays a call in on_train_epoch_end: its function stays too, though the test after training became trainer.test."""
import torch
from torch import nn
import pytorch_lightning as pl

torch.manual_seed(0)
loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(32, 4), torch.randn(32, 1)), batch_size=8)
val_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(16, 4), torch.randn(16, 1)), batch_size=8)
test_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(8, 4), torch.randn(8, 1)), batch_size=4)


def evaluate(model, loader):
    model.eval()
    total = 0.0
    with torch.no_grad():
        for x, y in loader:
            total += nn.functional.mse_loss(model(x), y, reduction="sum").item()
    return total / len(loader.dataset)


class LitLinear(pl.LightningModule):
    """Trains `model`, an nn.Module whose class stays as it is: it keeps its own state-dict keys."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.best = float("inf")

    def forward(self, *args, **kwargs):
        return self.model(*args, **kwargs)

    def training_step(self, batch, batch_idx):
        x, y = batch
        self.model.train()
        loss = nn.functional.mse_loss(self.model(x), y)
        self.log("train_loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)
        return loss

    def on_train_epoch_end(self):
        if self.current_epoch % 1 == 0:
            val = evaluate(self.model, val_loader)
            if val < self.best:
                self.best = val

    def on_test_epoch_start(self):
        self.total = 0.0

    def test_step(self, batch, batch_idx):
        x, y = batch
        self.total += nn.functional.mse_loss(self.model(x), y, reduction="sum").item()

    def on_test_epoch_end(self):
        if self.trainer.world_size > 1:  # the totals over all processes' batches
            self.total = self.all_gather(self.total).sum().item()
        test = self.total / len(self.trainer.test_dataloaders.dataset)
        self.print("test", test)
        self.log("test_total", test, sync_dist=True)

    def configure_optimizers(self):
        optimizer = torch.optim.SGD(self.model.parameters(), lr=0.1)
        return optimizer

    def predict_step(self, batch, batch_idx):
        x, y = batch
        return self(x)

    def on_save_checkpoint(self, checkpoint):
        # the loop's own state across epochs, so that a resumed run goes on from it
        checkpoint["loop_state"] = {"best": self.best}

    def on_load_checkpoint(self, checkpoint):
        self.best = checkpoint["loop_state"]["best"]


def main():
    model = nn.Linear(4, 1)
    best = float("inf")
    lit_model = LitLinear(model)
    trainer = pl.Trainer(max_epochs=3, accelerator="cpu")
    trainer.fit(lit_model, train_dataloaders=loader)
    best = lit_model.best
    print("best", best)
    grads = [p.grad for p in lit_model.parameters()]  # trainer.test clears them as it starts
    trainer.test(lit_model, dataloaders=test_loader)
    model.eval()  # as the test left it (Lightning restores the mode after testing)
    for parameter, grad in zip(lit_model.parameters(), grads):
        parameter.grad = grad  # as the loop's test left them


main()

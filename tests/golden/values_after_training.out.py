"""Values the loop sets, read after training: the last loss, the best epoch's, the test's total."""
import torch
from torch import nn
import torch.nn.functional as F
import pytorch_lightning as pl

torch.manual_seed(0)
train_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(64, 8), torch.randint(0, 3, (64,))), batch_size=16, shuffle=True)
test_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(32, 8), torch.randint(0, 3, (32,))), batch_size=16)
net = nn.Linear(8, 3)
train_loss = []
best_loss = float("inf")


class LitLinear(pl.LightningModule):
    """Trains `model`, an nn.Module whose class stays as it is: it keeps its own state-dict keys."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.best_loss = float("inf")

    def forward(self, *args, **kwargs):
        return self.model(*args, **kwargs)

    def training_step(self, batch, batch_idx):
        x, y = batch
        self.loss = F.cross_entropy(self.model(x), y)
        train_loss.append(self.loss.item())
        self.log("train_loss", self.loss, prog_bar=True, on_epoch=True, sync_dist=True)
        return self.loss

    def on_train_epoch_end(self):
        self.best_loss = min(self.best_loss, self.loss.item())

    def on_test_epoch_start(self):
        self.total_correct = 0

    def test_step(self, batch, batch_idx):
        x, y = batch
        out = self.model(x)
        pred = out.argmax(dim=1)
        correct = pred.eq(y).sum().float().item()
        self.total_correct += correct

    def on_test_epoch_end(self):
        if self.trainer.world_size > 1:  # the totals over all processes' batches
            self.total_correct = self.all_gather(self.total_correct).sum().item()

    def configure_optimizers(self):
        optimizer = torch.optim.SGD(self.model.parameters(), lr=0.1)
        return optimizer

    def predict_step(self, batch, batch_idx):
        x, y = batch
        return self(x)

    def on_save_checkpoint(self, checkpoint):
        # the loop's own state across epochs, so that a resumed run goes on from it
        checkpoint["loop_state"] = {"best_loss": self.best_loss}

    def on_load_checkpoint(self, checkpoint):
        self.best_loss = checkpoint["loop_state"]["best_loss"]


lit_net = LitLinear(net)
trainer = pl.Trainer(max_epochs=2)
trainer.fit(lit_net, train_dataloaders=train_loader)
loss, best_loss = lit_net.loss, lit_net.best_loss
print(len(train_loss), "steps, final loss", round(loss.item(), 4), "best", round(best_loss, 4))

grads = [p.grad for p in lit_net.parameters()]  # trainer.test clears them as it starts
trainer.test(lit_net, dataloaders=test_loader)
for parameter, grad in zip(lit_net.parameters(), grads):
    parameter.grad = grad  # as the loop's test left them
total_correct = lit_net.total_correct

total_num = len(test_loader.dataset)
acc = total_correct / total_num
print('test acc:', acc)

"""The model built again after training, from the saved weights, for inference: only the first is the one the loop trains."""
import torch
from torch import nn
import pytorch_lightning as pl


class Net(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 1)

    def forward(self, x):
        return self.fc(x)

    def training_step(self, x, batch_idx):
        loss = self(x).pow(2).mean()
        self.log("train_loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)
        return loss

    def configure_optimizers(self):
        optimizer = torch.optim.SGD(self.parameters(), lr=0.1)
        return optimizer


model = Net()
loader = torch.utils.data.DataLoader(torch.randn(32, 4), batch_size=8)
trainer = pl.Trainer(max_epochs=2)
trainer.fit(model, train_dataloaders=loader)
if trainer.is_global_zero:
    torch.save(model.state_dict(), "net.pt")
trainer.strategy.barrier()  # the other processes wait for the file

model = Net()
model.load_state_dict(torch.load("net.pt"))
model.eval()
print(model(torch.ones(1, 4)).item())

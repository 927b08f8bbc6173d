"""Code after optimizer.step() that looks at the model: every 4 batches the loop measures the
just-updated model on held-out data. Lightning steps after the whole training_step, so that
code runs in on_train_batch_end; the loss print stays in training_step."""

import torch
from torch import nn
import pytorch_lightning as pl

torch.manual_seed(0)
features, targets = torch.randn(64, 8), torch.randint(0, 3, (64,))
held_out, held_out_targets = torch.randn(16, 8), torch.randint(0, 3, (16,))
loader = torch.utils.data.DataLoader(
    torch.utils.data.TensorDataset(features, targets), batch_size=8, shuffle=True
)

model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
criterion = nn.CrossEntropyLoss()


class LitSequential(pl.LightningModule):
    """Trains `model`, an nn.Module whose class stays as it is: it keeps its own state-dict keys."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, *args, **kwargs):
        return self.model(*args, **kwargs)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = criterion(self.model(x), y)
        self.print(f"epoch {self.current_epoch} step {batch_idx} loss {loss.item():.4f}")
        self.log("train_loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)
        return loss

    def on_train_batch_end(self, outputs, batch, batch_idx):
        if batch_idx % 4 == 0:
            with torch.no_grad():
                accuracy = (self.model(held_out.to(self.device)).argmax(1) == held_out_targets.to(self.device)).float().mean()
            self.print(f"held-out accuracy after step {batch_idx}: {accuracy.item():.3f}")

    def configure_optimizers(self):
        optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-2)
        return optimizer

    def predict_step(self, batch, batch_idx):
        x, y = batch
        return self(x)


lit_model = LitSequential(model)
trainer = pl.Trainer(max_epochs=2)
trainer.fit(lit_model, train_dataloaders=loader)

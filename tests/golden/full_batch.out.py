"""Full-batch regression: no DataLoader, one optimizer step per round over in-memory tensors."""
import torch
import torch.nn.functional as F
import pytorch_lightning as pl

torch.manual_seed(1)
x = torch.unsqueeze(torch.linspace(-1, 1, 100), dim=1)
y = x.pow(2) + 0.2 * torch.rand(x.size())


class Net(pl.LightningModule):
    def __init__(self, n_feature, n_hidden, n_output):
        super(Net, self).__init__()
        self.save_hyperparameters()
        self.hidden = torch.nn.Linear(n_feature, n_hidden)
        self.drop = torch.nn.Dropout(0.1)
        self.predict = torch.nn.Linear(n_hidden, n_output)

    def forward(self, x):
        x = self.drop(F.relu(self.hidden(x)))
        return self.predict(x)

    def training_step(self, batch, batch_idx):
        prediction = self(x.to(self.device))
        loss = loss_func(prediction, y.to(self.device))
        if self.current_epoch % 20 == 0:
            self.print("step", self.current_epoch, "loss", loss.item())
        self.log("train_loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)
        return loss

    def configure_optimizers(self):
        optimizer = torch.optim.SGD(self.parameters(), lr=0.2)
        return optimizer


net = Net(n_feature=1, n_hidden=10, n_output=1)
loss_func = torch.nn.MSELoss()

step_loader = torch.utils.data.DataLoader([0], generator=torch.Generator())
trainer = pl.Trainer(max_epochs=60)
trainer.fit(net, train_dataloaders=step_loader)

"""lightning_train.py printing each epoch's loss one step behind (the loss of the batch before
the last): trains identically, must still fail verify (exit 1) on its printed output."""

from lightning_train import Net, main


class Behind(Net):
    def training_step(self, batch, batch_idx):
        loss = super().training_step(batch, batch_idx)
        self.before_last = getattr(self, "last", loss)
        self.last = loss.detach()
        return loss

    def shown_loss(self):
        return self.before_last


if __name__ == "__main__":
    main(net_class=Behind)

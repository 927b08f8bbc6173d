self.log("train_loss", {loss}, {batch_size}, prog_bar=True, on_epoch=True, sync_dist=True)
return {loss}

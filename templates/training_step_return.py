self.log("train_loss", {loss}, prog_bar=True)
return {loss}

self.log("train_loss", {loss})
return {loss}

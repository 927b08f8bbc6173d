def configure_optimizers(self):
    {setup}
    return {
        "optimizer": {optimizer},
        "lr_scheduler": {scheduler},
    }

def configure_optimizers(self):
    {setup}
    return {optimizer}

def predict_dataloader(self):
    """What `trainer.predict` goes over: the batches `predict_step` unpacks."""
    return self.{hook}()

def lr_scheduler_step(self, scheduler, metric):
    """Off: the scheduler steps at the start of each epoch, in on_train_epoch_start."""

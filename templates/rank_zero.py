if self.trainer.is_global_zero:
    {body}

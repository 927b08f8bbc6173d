if self.trainer.world_size > 1:  # the totals over all processes' batches
    {sums}

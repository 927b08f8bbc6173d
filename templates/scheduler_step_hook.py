def lr_scheduler_step(self, {scheduler}, {metric}):
    super().lr_scheduler_step({scheduler}, {metric})
    {body}

def {hook}(self, {batch}, batch_idx):
    {body}

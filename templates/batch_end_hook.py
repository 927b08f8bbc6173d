def {hook}(self, outputs, {batch}, batch_idx):
    {body}

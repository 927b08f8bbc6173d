def {hook}(self, {outputs}, {batch}, {index}):
    {body}

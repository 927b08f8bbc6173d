def {hook}(self, {batch}, {index}):
    {body}

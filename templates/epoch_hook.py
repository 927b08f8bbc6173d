def {hook}(self):
    {body}

class {name}({base}):
    """The data the training reads: Lightning calls `setup` in each process, then asks the
    `*_dataloader` hooks for the loaders of `fit`, `validate`, `test` and `predict`."""

    def __init__(self):
        super().__init__()
        {settings}

    def setup(self, stage):
        {setup}

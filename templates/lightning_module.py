class {name}({base}):
    """Trains `model`, an nn.Module whose class stays as it is: it keeps its own state-dict keys."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        {settings}

    def forward(self, *args, **kwargs):
        return self.model(*args, **kwargs)

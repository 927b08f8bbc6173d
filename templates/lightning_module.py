class {name}({base}):
    """Trains a model defined outside this script; `model` keeps its own state-dict keys."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        {settings}

    def forward(self, *args, **kwargs):
        return self.model(*args, **kwargs)

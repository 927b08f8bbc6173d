class {name}({base}):
    """Trains these nn.Modules together, their classes as they are: each keeps its own state-dict keys."""

    def __init__({params}):
        super().__init__()
        {attributes}
        {settings}

    def forward(self, *args, **kwargs):
        return {first}(*args, **kwargs)

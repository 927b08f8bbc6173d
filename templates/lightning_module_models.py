class {name}({base}):
    """Trains models defined outside this script together; each keeps its own state-dict keys."""

    def __init__({params}):
        super().__init__()
        {attributes}
        {settings}

    def forward(self, *args, **kwargs):
        return {first}(*args, **kwargs)

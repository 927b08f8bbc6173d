def describe(model):
    return f"{sum(p.numel() for p in model.parameters())} parameters"

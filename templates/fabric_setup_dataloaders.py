{loaders} = {fabric}.setup_dataloaders({arguments})

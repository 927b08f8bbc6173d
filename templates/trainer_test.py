{trainer}.test({module}, dataloaders={loader})

{optimizer} = {fabric}.setup_optimizers({optimizer})

self.automatic_optimization = False  # the loop steps its optimizers by hand

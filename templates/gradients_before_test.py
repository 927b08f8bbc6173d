{grads} = [p.grad for p in {module}.parameters()]  # trainer.test clears them as it starts

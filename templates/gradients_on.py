torch.set_grad_enabled(True)

def on_validation_model_zero_grad(self):
    """Lightning clears the gradients here; the loop kept the last batch's through evaluation."""

def on_train_end(self):
    {receiver}.zero_grad()  # the loop zeroed the gradients after each step

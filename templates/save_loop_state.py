def on_save_checkpoint(self, checkpoint):
    # the loop's own state across epochs, so that a resumed run goes on from it
    checkpoint[{key}] = {state}

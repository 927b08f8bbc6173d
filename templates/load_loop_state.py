def on_load_checkpoint(self, checkpoint):
    {body}

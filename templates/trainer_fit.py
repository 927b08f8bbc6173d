{trainer} = {lightning}.Trainer({options})
{trainer}.fit({module}, {loaders})

{model} = {fabric}.setup_module({model})

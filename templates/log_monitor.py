self.log({name}, {value})  # what ReduceLROnPlateau monitors

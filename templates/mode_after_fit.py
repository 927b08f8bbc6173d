{model}.{mode}()  # as the loop left it (Lightning restores the mode after evaluating)

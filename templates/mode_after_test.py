{model}.{mode}()  # as the test left it (Lightning restores the mode after testing)

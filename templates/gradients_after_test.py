for {parameter}, {grad} in zip({module}.parameters(), {grads}):
    {parameter}.grad = {grad}  # as the loop's test left them

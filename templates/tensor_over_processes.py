{total} = self.all_gather({total}).sum(0)

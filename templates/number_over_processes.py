{total} = self.all_gather({total}).sum().item()

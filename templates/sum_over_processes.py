def _sum_over_processes(self, value):
    """`value` summed over all processes (on a single process, `value` itself)."""
    if self.trainer.world_size == 1:
        return value
    total = self.all_gather(torch.as_tensor(value, dtype=torch.float64, device=self.device))
    total = total.sum(0)
    return type(value)(total.item()) if isinstance(value, (int, float)) else total.to(value.dtype)

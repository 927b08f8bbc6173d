def {helper}(fabric, value):
    """`value` summed over all processes (on a single process, `value` itself)."""
    if fabric.world_size == 1:
        return value
    total = torch.as_tensor(value, dtype=torch.float64, device=fabric.device)
    total = fabric.all_reduce(total, reduce_op="sum")
    return type(value)(total.item()) if isinstance(value, (int, float)) else total.to(value.dtype)

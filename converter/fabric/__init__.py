"""`--target fabric`: the script keeps its own training loop, and Lightning Fabric runs it.

Where the Trainer conversion moves a loop into a LightningModule's hooks (and declines what cannot
move faithfully), this conversion leaves the loop where it is and changes only what Fabric takes
over: `fabric = Fabric(...)` and `fabric.launch()` early in the script, `fabric.setup(model,
optimizer)` and `fabric.setup_dataloaders(loader)` after they are created, `fabric.backward(loss)`,
`fabric.print`, no `.to(device)` where Fabric moves things, the DDP boilerplate and the GradScaler
gone, evaluation sums reduced over the processes, `fabric.save`. The modules:

    roles.py    optimizers, the models they train, where both are created, device, argparse
    reach.py    where Fabric is created and which code can use it
    loops.py    the loaders the loops iterate, batches, evaluation sums
    setup.py    Fabric(...), launch, the setup calls, the scaling flags
    code.py     the in-place rewrites (backward, print, devices, save, precision)
    metrics.py  evaluation totals over the processes
    edits.py    the edits and their one transform
    convert.py  all of it, and the report
"""

from converter.fabric.convert import convert_to_fabric

__all__ = ["convert_to_fabric"]

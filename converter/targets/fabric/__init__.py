"""`--target fabric`: the script keeps its own training loop, and Lightning Fabric runs it.

Where the Trainer conversion moves a loop into a LightningModule's hooks (and declines what cannot
move faithfully), this conversion leaves the loop where it is and changes only what Fabric takes
over: `fabric = Fabric(...)` and `fabric.launch()` early in the script, `fabric.setup(model,
optimizer)` and `fabric.setup_dataloaders(loader)` after they are created, `fabric.backward(loss)`,
`fabric.print`, no `.to(device)` where Fabric moves things, the DDP boilerplate gone, the
GradScaler gone or kept (amp.py), evaluation sums reduced over the processes, `fabric.save`. The
modules:

    roles.py    optimizers, the models they train, where both are created, device, argparse
    reach.py    where Fabric is created and which code can use it
    loops.py    the loaders the loops iterate, batches, evaluation sums
    setup.py    Fabric(...), launch, the setup calls, the scaling flags
    checks.py   what is declined up front; the DDP boilerplate
    amp.py      autocast and GradScaler: mapped onto Fabric's precision, or the script's own kept
    training.py backward, print, save (in place)
    devices.py  device moves dropped or pointed at fabric.device, tensors moved
    metrics.py  evaluation totals over the processes
    context.py  what those rewrites share
    parameters.py  `fabric` passed to the module-level functions that use it
    edits.py    the edits and their one transform
    reporting.py   the report
    convert.py  all of it, in order
"""

from converter.targets.fabric.convert import convert_to_fabric

__all__ = ["convert_to_fabric"]

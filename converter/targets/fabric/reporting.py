"""The report of a Fabric conversion: what it found (optimizers, loops) and what it changed, each
with the line of its first place."""

from __future__ import annotations

import libcst as cst

from converter.analysis.sums import UNEVEN
from converter.report import Report
from converter.targets.fabric.amp import PINNED


def describe(index, roles, reach, loops, ctx, kept, points, report: Report, distributed, amp):
    line = index.line
    for name, statements in roles.optimizers.items():
        trained = ", ".join(f"`{m}`" for m in roles.trains[name])
        report.find("optimizer", line(statements[0]), f"optimizer `{name}` trains {trained}")
    for loop in loops.loops:
        if loop.trains:
            report.find("loop", line(loop.node), "training loop (kept: Lightning Fabric runs it)")
        elif loop.loader is not None:
            report.find("loop", line(loop.node), f"evaluation loop over `{loop.loader}`")
    report.change("fabric", line(reach.anchor), "Lightning Fabric created and launched here")
    for anchor, statements in points:
        what = ", ".join(cst.Module([]).code_for_node(s).strip() for s in statements)
        report.change("setup", line(anchor) if anchor is not None else line(reach.anchor), what)
    for names, how in (
        ([n for n in kept if n in loops.loaders], "each process gets its share"),
        ([n for n in kept if n in loops.whole], "every process iterates all of it"),
    ):
        if names:
            listed = ", ".join(f"`{n}`" for n in names)
            report.change(
                "loaders",
                line(reach.anchor),
                f"{listed} set up with fabric.setup_dataloaders ({how})",
            )
    training = [loop for loop in loops.loops if loop.trains]
    for loop in training:
        inner = any(o is not loop and _within(index, o.node, loop.node) for o in training)
        if loop.loader is None and not inner and not loops.unsharded and not distributed:
            iterated = cst.Module([]).code_for_node(loop.node.iter)
            report.change(
                "data",
                line(loop.node),
                f"not shared out: the training loop iterates `{iterated}`, not a DataLoader "
                "Fabric sets up, so on several processes each one trains on all of the data "
                "(the work repeated, not shared); share it out by fabric.global_rank "
                "and fabric.world_size",
            )
    for unsharded in loops.unsharded:
        report.change(
            "loaders",
            line(reach.anchor),
            f"`{unsharded}` not set up: the script shares out or places its batches itself",
        )
    if distributed:
        report.change(
            "distributed", line(reach.anchor), 'DDP boilerplate -> Fabric(strategy="ddp")'
        )
    if amp.kept is not None:
        scalers = ", ".join(f"`{n}`" for n in amp.scalers)
        parts = [f"GradScaler{'s' if len(amp.scalers) > 1 else ''} {scalers}"] if scalers else []
        own = " and ".join(parts + (["autocast"] if amp.autocasts else []))
        report.change(
            "precision",
            amp.kept_line or line(reach.anchor),
            f"the script's own {own} kept, Fabric(precision={PINNED}): {amp.kept}",
        )
    elif amp.precision is not None:
        value = cst.Module([]).code_for_node(amp.precision)
        report.change(
            "precision", line(reach.anchor), f"autocast/GradScaler -> Fabric(precision={value})"
        )
    described = {
        "backward": "loss.backward() -> fabric.backward(loss)",
        "print": "print -> fabric.print (printed once)",
        "print once": "print after the call that launches Fabric: on the first process only",
        "batch move": "batch .to(device) removed (the set-up loader moves batches)",
        "model move": "model .to(device) removed (fabric.setup moves the model)",
        "device": "the device -> fabric.device",
        "tensor": "tensors the loop creates moved to fabric.device",
        "save": "torch.save -> fabric.save (written once)",
        "save model": "torch.save(model) saves the unwrapped model (model.module)",
        "unwrapped model": "model[i], len(model), iterating the model: on model.module",
        "sums": "sums over the batches reduced over processes" + UNEVEN,
        "sums per process": "sums read with the loop's batch index kept per process",
        "file": "a file the script writes: written by process 0 only",
        "autocast": "autocast -> fabric.autocast()",
        "clip": "gradient clipping -> fabric.clip_gradients (unscaled under a mixed precision)",
    }
    for key, message in described.items():
        lines = sorted(set(ctx.counts.get(key, [])))
        if lines:
            count = f" ({len(lines)} places)" if len(lines) > 1 else ""
            report.change(key.replace(" ", "-"), lines[0], message + count)


def _within(index, node: cst.CSTNode, outer: cst.CSTNode) -> bool:
    return any(a is outer for a in index.ancestors(node))

"""`--fallback fabric`: one report for a script the Trainer conversion declined.

Converted to Fabric: Fabric's report, with a first change entry that says so and gives the
Trainer's reason. Declined by both: the Trainer's reasons, then Fabric's (each marked), the file
unchanged."""

from __future__ import annotations

from converter.report import FABRIC_HINT, ConversionResult, Entry


def fall_back(trainer: ConversionResult, fabric: ConversionResult) -> ConversionResult:
    declined = [
        Entry(e.kind, e.line, e.message.removesuffix(FABRIC_HINT)) for e in trainer.report.declined
    ]
    why = "; ".join(f"line {e.line}: {e.message}" for e in declined)
    if fabric.changed:
        entry = Entry(
            "fallback",
            declined[0].line,
            f"converted to Fabric: the Trainer conversion declined ({why})",
        )
        fabric.report.changed.insert(0, entry)
        return fabric
    report = trainer.report
    report.declined = [Entry(e.kind, e.line, f"Trainer: {e.message}") for e in declined]
    report.declined += [
        Entry(e.kind, e.line, f"Fabric: {e.message}")
        for e in fabric.report.declined
        if e.message not in {d.message for d in declined}
    ]
    return trainer

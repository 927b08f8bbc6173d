"""What a conversion found, changed and declined: the structured report behind every run."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

#: Ends a Trainer decline that Fabric converts (the script's own loop kept); `--fallback fabric`
#: takes it off the reason it quotes.
FABRIC_HINT = "; `--fallback fabric` converts it to Fabric, which keeps the script's own loop"
#: Kinds of "found" entries that answer an option the user asked for (`--datamodule`: why the
#: loaders stay in the script): `-v` and verify print them with the changes.
ASKED_FOR = ("datamodule", "callbacks")


@dataclass(frozen=True)
class Entry:
    """One report line: a kind (``model``, ``optimizer``, ``loop``...), a source line, words."""

    kind: str
    line: int
    message: str


@dataclass
class Report:
    filename: str = "<string>"
    found: list[Entry] = field(default_factory=list)
    changed: list[Entry] = field(default_factory=list)
    declined: list[Entry] = field(default_factory=list)

    def find(self, kind: str, line: int, message: str) -> None:
        self.found.append(Entry(kind, line, message))

    def change(self, kind: str, line: int, message: str) -> None:
        self.changed.append(Entry(kind, line, message))

    def decline(self, kind: str, line: int, message: str) -> None:
        self.declined.append(Entry(kind, line, message))

    def to_dict(self) -> dict:
        return {
            "file": self.filename,
            "found": [asdict(e) for e in self.found],
            "changed": [asdict(e) for e in self.changed],
            "declined": [asdict(e) for e in self.declined],
        }

    def reasons(self) -> list[str]:
        """Human lines, ``file:line: reason``, for what was declined."""
        return [f"{self.filename}:{e.line}: {e.message}" for e in self.declined]

    def text(self) -> str:
        """A readable multi-line report."""
        lines = [self.filename]
        for title, entries in (
            ("found", self.found),
            ("changed", self.changed),
            ("declined", self.declined),
        ):
            for e in entries:
                lines.append(f"  {title:8} line {e.line:>4}  {e.kind}: {e.message}")
        if len(lines) == 1:
            lines.append("  nothing to convert")
        return "\n".join(lines)


def place(display: str, entry: dict) -> str:
    """Where a report entry (a dict, as in ``to_dict``) points: ``train.py:12``, or
    ``nb.ipynb: cell 3, line 2`` in a notebook (whose entries carry their ``cell``)."""
    if entry.get("cell"):
        return f"{display}: cell {entry['cell']}, line {entry['line']}"
    return f"{display}:{entry['line']}"


@dataclass
class ConversionResult:
    """The new source (identical to the input when nothing converted) and the report."""

    source: str
    code: str
    report: Report

    @property
    def changed(self) -> bool:
        return self.code != self.source

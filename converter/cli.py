"""The torch2lightning command line. Starts without importing torch (verify runs it in children)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from converter import TARGETS, __version__, convert_source
from converter.verify.command import verify


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="torch2lightning")
def main() -> None:
    """Rewrite plain PyTorch training scripts into PyTorch Lightning."""


@main.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--target", type=click.Choice(TARGETS), default=TARGETS[0], show_default=True)
def convert(path: Path, output: Path, target: str) -> None:
    """Convert PATH and write the result to OUTPUT."""
    source = path.read_text(encoding="utf-8")
    result = convert_source(source, target=target, filename=str(path))
    output.write_text(result.code, encoding="utf-8")
    for line in result.report.reasons():
        click.echo(line, err=True)


main.add_command(verify)

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

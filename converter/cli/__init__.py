"""The command line around `convert_source`: `commands` (click: convert, verify, the options),
`file_runner` (one file of the command line: read, convert, write or diff, report),
`notebook_runner` (the same for a notebook), `outcomes` (what both give, and how it is
delivered), `scheduling` (files in parallel), `writing`
(atomic writes that never damage a file) and `diffing` (the preview)."""

from converter.cli.commands import main

__all__ = ["main"]

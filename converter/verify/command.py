"""`torch2lightning verify`: placeholder until the verify runner lands."""

import click


@click.command()
@click.argument("script")
def verify(script: str) -> None:
    """Train SCRIPT and its conversion side by side and compare them."""
    raise click.ClickException("verify is not implemented yet")

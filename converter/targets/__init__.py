"""The two outputs a script converts to, each on its own: `trainer` (a LightningModule and a
`Trainer` run) and `fabric` (the script's own loop, with Lightning Fabric). Both import the
analysis layer and `converter.lightning_code`, never each other."""

"""The Trainer target: find the training site (`planning`), let each pattern claim, check and
emit its part (`patterns`), and rewrite the script into a LightningModule and a Trainer call
(`rewrite`)."""

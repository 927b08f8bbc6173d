"""Lightning code shapes, filled by converter.templates loaders; installed as converter.templates."""

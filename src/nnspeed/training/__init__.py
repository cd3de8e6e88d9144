"""Training speed: step breakdown, variants, time to accuracy, streaming updates, energy, DDP."""

"""Model → model steps (quantize, prune); each returns a new Workload and says what changed."""

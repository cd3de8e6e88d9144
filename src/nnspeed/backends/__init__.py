"""Runtimes that turn a Workload and settings into a Runner, imported lazily by name."""

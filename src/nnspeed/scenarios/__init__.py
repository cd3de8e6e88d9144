"""Scenarios own the timing loop and the load pattern; they never branch on backend names."""

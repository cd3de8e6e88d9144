"""Timing, stop rules, statistics and the records they produce."""

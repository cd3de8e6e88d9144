"""Grids of (workload variant × backend settings), each cell in its own process, resumable."""

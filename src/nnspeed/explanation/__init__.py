"""Where the time goes: FLOPs, bytes, per-layer profiles and rooflines."""

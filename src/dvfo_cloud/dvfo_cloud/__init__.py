"""DVFO cloud node: the tail server (thin: the logic lives in dvfo_core)."""

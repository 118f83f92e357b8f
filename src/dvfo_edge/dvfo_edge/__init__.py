"""DVFO edge nodes: camera, head, governor (thin: the logic lives in dvfo_core)."""

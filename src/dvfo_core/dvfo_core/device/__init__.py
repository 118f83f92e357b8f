"""Device layer: one interface, two backends (sysfs on a real Jetson, the digital twin elsewhere)."""

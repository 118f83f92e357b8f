"""Split inference: model zoo with DAG-safe split points, spatial-channel attention, codec, fusion."""

"""Fixtures of the agent tests (a real world: board twin, cloud model, split profile)."""

from world_fixtures import profile_file, world, world_spec  # noqa: F401 - pytest fixtures

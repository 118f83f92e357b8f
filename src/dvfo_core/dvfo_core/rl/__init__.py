"""The DVFO governor: environment over the twin, agents, baselines, oracle, evaluation."""

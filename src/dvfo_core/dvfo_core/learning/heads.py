"""The Q-head names (a module of constants so ``dvfo --help`` needs neither numpy nor torch).

``flat``: one output per joint action; ``factored``: one advantage vector per clock domain and one
for the route; ``routed``: clock advantages per route. docs/agent.md compares them.
"""

HEADS = ("flat", "factored", "routed")
#: The head ``dvfo train`` uses unless told otherwise (measured in docs/agent.md).
DEFAULT_HEAD = "routed"

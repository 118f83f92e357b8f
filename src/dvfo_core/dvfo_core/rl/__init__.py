"""The DVFO governor: environment over the twin, agents, baselines, oracle, evaluation.

``frame_sim`` composes one frame (the only place that does); ``routes`` turns a split profile into
what runs where; ``world`` builds a device/model's world; ``actions``, ``cost``, ``observation``
define the MDP; ``env`` is the gymnasium environment (thinking-while-moving or blocking); ``agents``
and ``training`` train stable-baselines3 DQN agents; ``policy`` is the numpy policy file the robot
runs; ``controllers``, ``baselines``, ``oracle``, ``methods``, ``appeal`` are the compared methods;
``evaluate``, ``pipeline`` and ``report`` run them; ``links`` and ``replay`` provide training links
(synthetic, traces, rosbag2 recordings). See docs/agent.md.
"""

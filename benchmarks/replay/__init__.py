"""Replaying real libraries' released versions into live processes (issue 19).

See docs/replay.md for what is measured and the last table; ``python -m
benchmarks.replay --help`` for the command. Modules, in the order a run goes through them:
catalogue (which libraries and versions), cache (the sdists, outside the repository),
layout (one version laid into a work folder), live (one live process), updaters (hotswap
and its peers), outcomes (running a suite, live and fresh), compare (judging a step),
run (all jobs), table (the page).
"""

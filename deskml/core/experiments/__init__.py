"""Versions against each other: the sequential test behind A/B and shadow verdicts (and,
to come, promote, roll back and the front door's control)."""

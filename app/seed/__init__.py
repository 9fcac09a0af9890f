"""Synthetic data for demos and benchmarks (`python -m app seed`): a team of agent accounts, and
contacts across countries and time zones with their messages, tag events and orders, tags in the
shares the seeds report. The service itself never imports it.
"""

from app.seed.load import AgentKey, Seeded, seed

__all__ = ["AgentKey", "Seeded", "seed"]

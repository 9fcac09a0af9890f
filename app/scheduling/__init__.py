"""Scheduling: which follow-up is due for whom, and when it may be sent."""

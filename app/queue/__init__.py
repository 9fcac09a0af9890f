"""The agents' work queue: what to do today, most urgent first."""

"""Sending: claim due follow-ups, respect the rate limits, call the Cloud API, record outcomes."""

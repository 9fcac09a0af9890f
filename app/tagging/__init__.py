"""Tagging: turning inbound messages into contact tags (intent, interests, categories, opt-out)."""

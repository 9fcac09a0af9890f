"""Contacts, their messages and statuses, and the /contacts routes."""

"""Contacts and purchases in and out of CSV files: export, validated all-or-nothing imports."""

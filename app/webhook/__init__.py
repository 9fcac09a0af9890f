"""Webhook ingestion: verify the signature, make the raw body durable, acknowledge; then process."""

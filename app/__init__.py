"""WhatsApp follow-up engine: webhook → inbox → tagging → scheduling → outbox → sending."""

"""The Cloud API boundary: webhook payload shapes, signatures, the sending client. No DB, no rules."""

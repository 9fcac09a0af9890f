"""The operator's reports and team alerts, computed from periodic snapshots."""

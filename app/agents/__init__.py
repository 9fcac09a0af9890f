"""Agent accounts: who works which contacts, in which time zone."""

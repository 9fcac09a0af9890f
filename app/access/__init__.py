"""Who may call the operator and agent routes: the bootstrap admin token and named API keys."""

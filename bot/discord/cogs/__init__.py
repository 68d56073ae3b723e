"""Discord cogs: one file per group of commands."""

"""who-handles."""

"""Background workers: payouts."""

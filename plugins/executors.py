"""Placeholder until the executors land (registers nothing)."""

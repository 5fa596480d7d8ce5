"""Placeholder until the layout-based loaders land (registers nothing)."""

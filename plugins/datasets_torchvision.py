"""Placeholder until the torchvision-backed loaders land (registers nothing)."""

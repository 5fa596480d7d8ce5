"""Hostile inputs and faults (issue 11): one module per area, a test per case; the battery grows here."""

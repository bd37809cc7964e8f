"""Helpers shared by the test suites (not shipped)."""

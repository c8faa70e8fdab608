"""Helpers shared by several test suites (store factories, driver adapters)."""

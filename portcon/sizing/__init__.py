"""Sizing modes and the objective term each minimises."""

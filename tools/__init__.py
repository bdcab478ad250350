"""Operator and developer commands (not deployed to Lambda)."""

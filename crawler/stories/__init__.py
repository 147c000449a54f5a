"""Duplicate linking and story grouping."""

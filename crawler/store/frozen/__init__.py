"""Code frozen for the migrations: a copy of the live code as it was when a migration was
written, so that the migration's output never changes when the live code does.

Nothing here imports the rest of the project (an import-linter contract holds it).
"""

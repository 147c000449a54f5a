"""The `newswatch` command line: thin adapters over the library."""

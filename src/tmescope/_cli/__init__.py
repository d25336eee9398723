"""Command-line topics; each module exposes ``COMMANDS``."""

"""Thin adapters over external tools: one method per subcommand used, pure parsers of their
machine-readable output, and their failures classified into dockerhello's errors."""

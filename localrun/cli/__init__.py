"""The localrun command: one module per command group, each adding its parsers in register()."""

from __future__ import annotations

from localrun.cli.main import build_parser, main

__all__ = ["build_parser", "main"]

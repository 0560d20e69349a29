"""localrun as a test double for API clients: a pytest plugin (the `localrun_server`
fixture, entry point pytest11) and LocalrunServer, a real daemon in a subprocess driven
through its admin API."""

from localrun.testing.server import LocalrunServer

__all__ = ["LocalrunServer"]

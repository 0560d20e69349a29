"""localrun: run WRF on your own machine behind the runs APIs of four hosted services."""

__version__ = "0.1.0"

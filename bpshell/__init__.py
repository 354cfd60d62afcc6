"""bpshell: Botpress Cloud login and profiles."""

__version__ = "0.1.0"

"""Omnidesk: a self-hosted omnichannel virtual contact center."""

__version__ = "0.1.0"

"""Spreaders: one marketing sentence in, running n8n workflows out."""

__version__ = "0.1.0"

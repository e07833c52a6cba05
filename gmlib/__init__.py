"""gmlib: the companion library of the open course on generative models."""

from __future__ import annotations

__version__ = "1.0.0.dev0"

__all__ = ["__version__"]

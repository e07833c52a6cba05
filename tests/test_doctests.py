"""The examples in gmlib's docstrings run, and print what they say (a model per family,
`fit`, `compress`, the bench and the contract), so the API reference cannot drift."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "gmlib.independent",
    "gmlib.mixtures.gaussian",
    "gmlib.autoregressive.made",
    "gmlib.vae.factory",
    "gmlib.train.loop",
    "gmlib.coding.compress",
    "gmlib.bench.core",
    "gmlib.contract",
]


@pytest.mark.parametrize("module", MODULES)
def test_docstring_examples(module, monkeypatch):
    monkeypatch.setenv("GMLIB_PROGRESS", "0")
    result = doctest.testmod(importlib.import_module(module),
                             optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{module} has no examples"
    assert result.failed == 0

"""Metric tests share one reference-feature cache in a temporary folder (never the user's cache)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("genlab-cache")


@pytest.fixture(autouse=True)
def private_cache(session_cache, monkeypatch):
    monkeypatch.setenv("GENLAB_CACHE", str(session_cache))
    return session_cache

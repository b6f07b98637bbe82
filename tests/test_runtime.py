"""The CLI's allocator settings: applied on glibc, and never over the user's own choice."""

import platform

import pytest

from genlab import runtime


def test_a_malloc_variable_or_preloaded_allocator_of_the_user_is_left_alone(monkeypatch):
    calls = []
    monkeypatch.setattr(runtime.ctypes, "CDLL", lambda name: calls.append(name))
    monkeypatch.setenv("MALLOC_ARENA_MAX", "2")
    assert runtime.tune_allocator() is False
    monkeypatch.delenv("MALLOC_ARENA_MAX")
    monkeypatch.setenv("LD_PRELOAD", "/usr/lib/libjemalloc.so.2")
    assert runtime.tune_allocator() is False
    assert calls == []  # malloc was never touched


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_glibc_takes_every_threshold(monkeypatch):
    for name in [n for n in runtime.os.environ if n.startswith("MALLOC_")] + ["LD_PRELOAD"]:
        monkeypatch.delenv(name, raising=False)
    assert runtime.tune_allocator() is True

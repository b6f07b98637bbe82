"""Scripts (the benchmarks) end a bad option or file the way the CLI does: one sentence, exit code 2."""

import sys
from pathlib import Path

import pytest
import torch

from genlab.errors import ConfigError, out_of_memory_as, run_main


def test_a_genlab_error_is_one_sentence_and_exit_code_2(capsys):
    def main():
        raise ConfigError("--width must be at least 1 (got 0); pass --width 1 or more.")

    with pytest.raises(SystemExit) as exit_info:
        run_main(main)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [f"{Path(sys.argv[0]).name}: error: --width must be at least 1 (got 0); "
                                        "pass --width 1 or more."]


def test_other_exceptions_are_not_swallowed():
    def main():
        raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        run_main(main)


@pytest.mark.parametrize("count", [2**62, 10**20])  # bytes past int64; a count past int64 itself
def test_a_count_beyond_any_memory_gets_the_guards_sentence(count):
    with pytest.raises(ConfigError, match="^--n .* draw fewer$"):
        with out_of_memory_as(f"--n {count} samples do not fit in memory; draw fewer"):
            torch.empty(count, 100)


@pytest.mark.parametrize("error", [RuntimeError("shape mismatch"), TypeError("unsupported operand")])
def test_the_memory_guard_lets_other_errors_through(error):
    with pytest.raises(type(error), match=str(error)):
        with out_of_memory_as("never this"):
            raise error

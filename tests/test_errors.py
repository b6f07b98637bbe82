"""Scripts (the benchmarks) end a bad option or file the way the CLI does: one sentence, exit code 2."""

import sys
from pathlib import Path

import pytest

from genlab.errors import ConfigError, run_main


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

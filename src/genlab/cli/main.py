"""The ``genlab`` entry point: parse the command line, run the command, and turn the errors a user can fix
into one sentence on stderr with exit status 2 (``--debug`` shows the traceback too).
"""

from __future__ import annotations

import os
import sys
import traceback

from genlab.cli.evaluate import cmd_eval
from genlab.cli.generate import cmd_generate
from genlab.cli.info import cmd_compare, cmd_data, cmd_list, cmd_report
from genlab.cli.parser import build_parser, split_dotted, unknown_argument_error
from genlab.cli.sample import cmd_sample
from genlab.cli.train import cmd_train
from genlab.errors import ConfigError, GenlabError
from genlab.runtime import tune_allocator


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    plain, dotted = split_dotted(list(sys.argv[1:] if argv is None else argv))
    try:
        args, unknown = parser.parse_known_args(plain)
    except ConfigError as e:
        return report_error(e, "--debug" in plain)
    tune_allocator()
    # A path given as bytes that are not UTF-8 reaches Python as surrogate escapes, which a stdout
    # with strict errors (the usual one under a UTF-8 locale) refuses to print: 'genlab: done ...'
    # would fail after the work. Print them as backslash escapes, as Python's stderr already does.
    if getattr(sys.stdout, "errors", None) == "strict" and hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="backslashreplace")
    try:
        if unknown:
            raise ConfigError(unknown_argument_error(parser, args, unknown, plain))
        if dotted and args.command != "train":
            raise ConfigError(f"Unrecognised argument {dotted[0]!r}; see 'genlab {args.command} --help'.")
        args.overrides = dotted  # only train takes them (refused above for the others)
        return COMMANDS[args.command](args)
    except GenlabError as e:
        return report_error(e, args.debug)
    except BrokenPipeError:  # the reader of our output went away ('genlab compare ... | head')
        # Point stdout at /dev/null so that flushing it at exit does not fail again (the recipe of
        # Python's signal documentation).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as e:  # the file system refused: a missing folder, no permission, a full disk
        if args.debug:
            traceback.print_exc()
        where = e.filename2 or e.filename
        print(f"{speaker()}: error: {e.strerror or e}{f': {where}' if where else ''}; check that path (that it exists, "
              "its permissions, the space left).", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        after = " (continue from the newest complete checkpoint with --resume auto)" if args.command == "train" else ""
        print(f"genlab: interrupted; files written so far are intact{after}.", file=sys.stderr)
        return 130


def report_error(error: GenlabError, debug: bool) -> int:
    """Print ``error``'s sentence (after its traceback with ``--debug``); return its exit status, 2."""
    if debug:
        traceback.print_exc()
    print(f"{speaker()}: error: {error}", file=sys.stderr)
    return error.exit_code


def speaker() -> str:
    """How an error line starts: 'genlab', and under torchrun with several processes, on a rank other
    than 0, its rank (every rank prints its own error; one all ranks meet is then said once plainly and
    once per other rank)."""
    from genlab.train.distributed import ProcessContext

    try:
        process = ProcessContext.from_env()
    except ValueError:  # RANK or WORLD_SIZE not a number: not torchrun's
        return "genlab"
    return f"genlab (rank {process.rank})" if process.distributed and not process.is_main else "genlab"


COMMANDS = {"train": cmd_train, "sample": cmd_sample, "eval": cmd_eval, "generate": cmd_generate,
            "report": cmd_report, "compare": cmd_compare, "list": cmd_list, "data": cmd_data}


def entry_point() -> None:
    sys.exit(main())

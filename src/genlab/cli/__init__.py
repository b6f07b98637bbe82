"""The ``genlab`` command line: train | sample | eval | generate | report | compare | list | data.

Errors a user can fix are printed as one sentence on stderr with exit status 2; ``--debug``
shows the traceback too (the status stays 2).

``main`` (in :mod:`genlab.cli.main`) parses the arguments (:mod:`genlab.cli.parser`) and runs one
command: :mod:`~genlab.cli.train`, :mod:`~genlab.cli.sample`, :mod:`~genlab.cli.evaluate`,
:mod:`~genlab.cli.generate`, or :mod:`~genlab.cli.info` (report, compare, list, data). Where a
command may write is checked in :mod:`genlab.cli.outputs`. Each command imports torch and the models
when it runs, so ``genlab --help`` stays fast.
"""

from genlab.cli.main import entry_point, main

__all__ = ["entry_point", "main"]

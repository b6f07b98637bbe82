from genlab.cli import entry_point

entry_point()

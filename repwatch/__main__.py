"""``python -m repwatch`` is the ``repwatch`` command."""

from repwatch.cli import main

main()

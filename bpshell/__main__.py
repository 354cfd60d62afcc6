"""``python -m bpshell``: the same entry point as the ``bp`` script."""

from bpshell.cli import main

raise SystemExit(main())

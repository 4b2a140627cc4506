"""``python -m janus_core.cli``: the ``janus`` command without its console script."""

import sys

from janus_core.cli import main

sys.exit(main())

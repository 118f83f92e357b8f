"""``python -m dvfo_core.cli`` is the ``dvfo`` command."""

import sys

from dvfo_core.cli import main

sys.exit(main())

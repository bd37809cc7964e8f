"""``python -m cogment``: the same as the ``cogment`` command."""

import sys

from cogment._cli.main import main

sys.exit(main())

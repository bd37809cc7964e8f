"""``python -m cogment_services.orchestrator [flags]``: same as ``cogment services orchestrator``."""

import sys

from ._cli import main

sys.exit(main(sys.argv[1:]))

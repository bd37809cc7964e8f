"""``python -m cogment_services.model_registry [flags]``: run the Model Registry."""

import sys

from cogment_services.model_registry._cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

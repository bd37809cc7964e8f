"""``python -m examples.rps [--trials N]``: generate the settings, then run the trials."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# Generate the typed settings package (examples/rps/cog_settings/, incremental and fast).
subprocess.run(
    [sys.executable, "-m", "cogment", "generate", "--quiet",
     "--spec", str(HERE / "cogment.yaml"), "--output", str(HERE)],
    check=True,
)  # fmt: skip

from examples.rps.main import main  # noqa: E402  (needs the generated package)

sys.exit(main())

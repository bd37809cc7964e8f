"""``python -m cogment_codegen [generate] --spec cogment.yaml --output <dir>``."""

import sys

from cogment_codegen._cli import main

args = sys.argv[1:]
if args[:1] == ["generate"]:
    args = args[1:]
sys.exit(main(args))

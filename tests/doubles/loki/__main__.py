"""Entry point of the Loki TEST DOUBLE: ``python3 -m loki -config.file=...``."""

import sys

from loki.server import main

sys.exit(main(sys.argv[1:]))

"""Entry point of the Tempo TEST DOUBLE: ``python3 -m tempo -config.file=/etc/tempo.yaml``."""

import sys

from tempo.server import main

sys.exit(main(sys.argv[1:]))

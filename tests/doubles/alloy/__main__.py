"""Entry point of the Alloy TEST DOUBLE: ``python3 -m alloy run /etc/alloy/config.alloy``."""

import sys

from alloy.server import main

sys.exit(main(sys.argv[1:]))

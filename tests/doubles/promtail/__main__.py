"""Entry point of the Promtail TEST DOUBLE: ``python3 -m promtail -config.file=/etc/promtail/config.yml``."""

import sys

from promtail.server import main

sys.exit(main(sys.argv[1:]))

"""Entry point of the cAdvisor TEST DOUBLE: ``python3 -m cadvisor -port=8080 ...``."""

import sys

from cadvisor.server import main

sys.exit(main(sys.argv[1:]))

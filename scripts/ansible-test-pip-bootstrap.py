"""Stand-in for the get-pip bootstrap script that ansible-test downloads from a host this lab cannot reach.

ansible-test runs its cached ``get_pip_<version>.py`` inside each fresh sanity venv with pip's command-line
arguments. This script does the same job with what Python ships: ``ensurepip``, then ``pip install`` of the
requested pip version from the package index the machine is configured for.
"""

import ensurepip
import os
import subprocess
import sys

# get-pip.py understands these; pip itself does not.
GET_PIP_ONLY_FLAGS = {"--no-setuptools", "--no-wheel"}


# ansible-test runs pip with a trimmed environment (no PIP_CERT); where the machine trusts a local CA bundle,
# the venv gets it in its own pip.conf so the later requirement installs trust the same certificates.
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def trust_system_ca_bundle() -> None:
    if os.path.exists(CA_BUNDLE):
        with open(os.path.join(sys.prefix, "pip.conf"), "w", encoding="utf-8") as conf:
            conf.write(f"[global]\ncert = {CA_BUNDLE}\n")


def main() -> None:
    ensurepip.bootstrap(upgrade=False)
    trust_system_ca_bundle()
    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY_FLAGS]
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", *args])


if __name__ == "__main__":
    main()

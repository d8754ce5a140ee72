"""Stand-in for the get-pip bootstrap script that ansible-test downloads from a host this lab cannot reach.

ansible-test runs its cached ``get_pip_<version>.py`` inside each fresh sanity venv with pip's command-line
arguments (e.g. ``pip==24.2 --no-setuptools --no-wheel``). This script does the same job with what Python
ships: ``ensurepip``, then ``pip install`` of the requested packages from the package index the machine is
configured for.

Why ensurepip runs in a child process: ``ensurepip.bootstrap()`` deletes every ``PIP_*`` variable from
``os.environ`` and sets ``PIP_CONFIG_FILE=/dev/null`` *in the calling process* (CPython bpo-19734/bpo-20053).
With ``PIP_CONFIG_FILE`` set to the null device pip loads no configuration file at all, so a later
``pip install`` from this process would ignore /etc/pip.conf (``cert = <local CA bundle>``) and fail with
CERTIFICATE_VERIFY_FAILED behind a TLS-intercepting proxy. Running ``python -m ensurepip`` as a child keeps
that environment change out of this process; the ``pip install`` then sees the machine's pip configuration.
"""

import subprocess
import sys

# get-pip.py understands these; pip itself does not.
NO_SETUPTOOLS = "--no-setuptools"
NO_WHEEL = "--no-wheel"
GET_PIP_ONLY_FLAGS = {NO_SETUPTOOLS, NO_WHEEL}


def pip_command(*args: str) -> list[str]:
    """Command line running the venv's pip."""
    return [sys.executable, "-m", "pip", *args]


def install_bundled_pip() -> None:
    """Install the pip wheel that ships with Python, isolated from this process' environment."""
    command = [sys.executable, "-m", "ensurepip", "--default-pip"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise subprocess.CalledProcessError(result.returncode, command)


def requested_names(args: list[str]) -> set[str]:
    """Lower-cased project names of the requirement specifiers among pip's arguments."""
    names = set()
    for arg in args:
        if arg.startswith("-"):
            continue
        name = arg
        for separator in "=<>!~[; ":
            name = name.split(separator, 1)[0]
        names.add(name.lower().replace("_", "-"))
    return names


def installed(name: str) -> bool:
    """Whether the venv's pip reports the project as installed."""
    result = subprocess.run(pip_command("show", "--quiet", name), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, check=False)
    return result.returncode == 0


def drop_unwanted_extras(argv: list[str], args: list[str]) -> None:
    """Honour get-pip's --no-setuptools/--no-wheel: ensurepip of some Pythons installs setuptools too."""
    wanted = requested_names(args)
    for flag, name in ((NO_SETUPTOOLS, "setuptools"), (NO_WHEEL, "wheel")):
        if flag in argv and name not in wanted and installed(name):
            subprocess.check_call(pip_command("uninstall", "--quiet", "--yes", name))


def main() -> None:
    """Bootstrap pip in the running interpreter's environment, like get-pip.py."""
    argv = sys.argv[1:]
    args = [arg for arg in argv if arg not in GET_PIP_ONLY_FLAGS]
    install_bundled_pip()
    subprocess.check_call(pip_command("install", "--quiet", *args))
    drop_unwanted_extras(argv, args)


if __name__ == "__main__":
    main()

"""Offline-friendly stand-in for the get-pip.py that ansible-test downloads.

ansible-test runs each sanity test that has Python requirements in its own
virtual environment under ~/.ansible/test/venv. To put pip into a fresh one it
downloads a get-pip.py bootstrap script from ci-files.testing.ansible.com,
which is not reachable from this project's machines (PyPI is). It looks for a
cached copy first, at ~/.ansible/test/cache/get_pip_<X_Y>.py, so:

  python scripts/ansible-test-get-pip.py --install

copies this file there, named for the pip version this ansible-test pins.
Afterwards ansible-test runs it as get-pip.py: it installs the pip wheel that
ships with the interpreter (ensurepip, no network) and uses that pip to
install the requested packages (for example pip==24.2) from the package
index, which is what get-pip.py does with its embedded pip.
"""

from __future__ import annotations

import os
import subprocess
import sys
import types


def cache_path() -> str:
    """Return where ansible-test looks for its cached pip bootstrap script."""
    # pylint: disable-next=import-outside-toplevel
    from ansible_test._internal.python_requirements import get_venv_packages

    python = types.SimpleNamespace(version='%d.%d' % sys.version_info[:2])
    pip_version = get_venv_packages(python)['pip']  # type: ignore[arg-type]
    return os.path.expanduser('~/.ansible/test/cache/get_pip_%s.py' % pip_version.replace('.', '_'))


MARKER = 'Offline-friendly stand-in for the get-pip.py'


def install() -> None:
    """Put this script where ansible-test looks for get-pip.py (a real get-pip.py there is kept)."""
    path = cache_path()
    with open(__file__, encoding='utf-8') as source:
        content = source.read()
    if os.path.exists(path):
        with open(path, encoding='utf-8', errors='replace') as cached:
            current = cached.read()
        if current == content or MARKER not in current:
            print('ansible-test pip bootstrap script present: %s' % path)
            return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as target:
        target.write(content)
    print('installed ansible-test pip bootstrap script: %s' % path)


def run(command: list[str]) -> None:
    """Run a command quietly; show its output only when it fails."""
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    if result.returncode:
        sys.stdout.write(result.stdout)
        raise SystemExit('failed (exit %d): %s' % (result.returncode, ' '.join(command)))


def installed(name: str) -> bool:
    """Tell whether a distribution is installed in this Python."""
    code = 'import importlib.metadata, sys; importlib.metadata.version(sys.argv[1])'
    return subprocess.run([sys.executable, '-c', code, name], capture_output=True, check=False).returncode == 0


def bootstrap(args: list[str]) -> None:
    """Behave like get-pip.py: install pip (and the given packages) into this Python."""
    skip = {'--no-setuptools', '--no-wheel'}
    # In a subprocess: ensurepip.bootstrap() would point PIP_CONFIG_FILE at
    # /dev/null for the rest of this process, and the pip configuration
    # (certificates, index) is needed for the install below.
    run([sys.executable, '-m', 'ensurepip', '--upgrade'])
    run([sys.executable, '-m', 'pip', 'install', '--upgrade'] + [a for a in args if a not in skip])
    # ensurepip also brings setuptools on Python < 3.12; get-pip.py would not have.
    unwanted = [name for name, flag in (('setuptools', '--no-setuptools'), ('wheel', '--no-wheel'))
                if flag in args and installed(name)]
    if unwanted:
        run([sys.executable, '-m', 'pip', 'uninstall', '--yes'] + unwanted)
    print('pip bootstrapped: %s' % ' '.join(a for a in args if not a.startswith('-')))


if __name__ == '__main__':
    if sys.argv[1:] == ['--install']:
        install()
    else:
        bootstrap(sys.argv[1:])

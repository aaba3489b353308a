"""Fixtures and hooks shared by the daemon tests: see tests/tessera_harness.py."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tessera_harness import (  # noqa: E402,F401  (fixtures and hooks pytest picks up)
    fresh_factory,
    pytest_collection_modifyitems,
    pytest_configure,
    pytest_runtest_makereport,
    server_factory,
    tdir,
)

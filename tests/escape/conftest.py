"""The escape battery (see escape.py): a proof run needs a build that
honours BRIG_TEST_DISABLE, and is skipped otherwise."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))


@pytest.fixture(autouse=True)
def _proof_needs_switches(request):
    callspec = getattr(request.node, "callspec", None)
    if callspec and callspec.params.get("off"):
        request.getfixturevalue("switches")

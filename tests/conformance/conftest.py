"""The kit's fake service listens on 127.0.0.1; the rest of the network stays blocked."""

from __future__ import annotations

import pytest


@pytest.fixture
def allowed_hosts() -> list[str]:
    """pytest-recording's --block-network lets connections to 127.0.0.1 through."""
    return [r"^127\.0\.0\.1$"]

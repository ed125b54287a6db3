"""The kit's pytest plugin: the ``fake_service`` fixture.

Opt in from the root ``conftest.py`` of a plugin's tests::

    pytest_plugins = ["storyframe.testing.plugin"]
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from storyframe.testing.fake import FakeService


@pytest_asyncio.fixture
async def fake_service() -> AsyncIterator[FakeService]:
    """A scripted fake HTTP service on 127.0.0.1, closed after the test.

    A test that queued replies the provider never asked for fails at teardown, listing them.
    """
    async with FakeService() as service:
        yield service
    if service.pending:
        left = ", ".join(f"{reply.status}" for reply in service.pending)
        pytest.fail(f"fake_service: {len(service.pending)} queued replies never requested: {left}")

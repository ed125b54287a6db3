"""The pytest plugin storyframe registers (entry point ``pytest11``): the ``fake_service`` fixture.

It is loaded in every pytest run where storyframe is installed, so it imports nothing heavy
until a test asks for the fixture, and it adds nothing when pytest-asyncio is missing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from storyframe.testing.fake import FakeService

try:
    from pytest_asyncio import fixture as async_fixture
except ImportError:  # pragma: no cover - storyframe[test] brings pytest-asyncio
    async_fixture = None  # type: ignore[assignment]

if async_fixture is not None:

    @async_fixture
    async def fake_service() -> AsyncIterator[FakeService]:
        """A scripted fake HTTP service on 127.0.0.1 (:class:`storyframe.testing.FakeService`)."""
        from storyframe.testing.fake import FakeService

        async with FakeService() as service:
            yield service

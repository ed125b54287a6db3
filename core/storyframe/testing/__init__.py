"""The conformance kit: checks any plugin package runs against its own providers.

Subclass :class:`TextProviderConformance` or :class:`ImageProviderConformance` in a test module
(the subclass name must start with ``Test`` so pytest collects it) and say how to build the
provider. An offline provider names its class::

    class TestMosaicConformance(ImageProviderConformance):
        provider_class = MosaicImageProvider

A provider that talks HTTP gives an ``http_factory`` fixture, a callable
``(base_url, api_key, **settings) -> provider``, and an ``answer`` method that answers a request
the way the real service does on success. The kit then runs the provider against a
:class:`FakeService` on 127.0.0.1: it stages 401/402/403/404/408/429/5xx answers, malformed
JSON, a timeout and a reset connection and checks each maps onto the documented error class;
it cancels a call in flight; it watches the event loop; it looks for the key in errors, logs
and reprs; and it checks sizes, seeds, scenes, usage and ``aclose()``::

    class TestChatConformance(TextProviderConformance):
        @pytest.fixture
        def http_factory(self):
            return lambda base_url, api_key, **settings: ChatProvider(
                ChatConfig(base_url=base_url, **settings), api_key
            )

        def answer(self, request: RecordedRequest) -> Reply:
            return Reply(json={...})

Or override the ``provider_factory`` fixture (a zero-argument callable building a fresh
provider) to run the contract checks against a server of your own. Every test is an
``async def`` marked ``@pytest.mark.asyncio``, so the suite runs under pytest-asyncio's strict
and auto modes alike. The checks are also plain functions in :mod:`storyframe.testing.checks`.

``pytest_plugins = ["storyframe.testing.plugin"]`` in a root ``conftest.py`` adds the
``fake_service`` fixture for a plugin's own tests. Importing this package imports pytest and
aiohttp: import it from tests only.
"""

from storyframe.testing.checks import ERROR_CASES, FAST_SETTINGS, ErrorCase, HttpFactory
from storyframe.testing.contract import ProviderFactory
from storyframe.testing.fake import FOREVER, FakeService, RecordedRequest, Reply, error_body
from storyframe.testing.samples import (
    CONFORMANCE_STYLE,
    FAKE_SECRET,
    NAME_PATTERN,
    SAMPLE_STORY,
    SHORT_STORY,
    png,
)
from storyframe.testing.suites import ImageProviderConformance, TextProviderConformance

__all__ = [
    "CONFORMANCE_STYLE",
    "ERROR_CASES",
    "FAKE_SECRET",
    "FAST_SETTINGS",
    "FOREVER",
    "NAME_PATTERN",
    "SAMPLE_STORY",
    "SHORT_STORY",
    "ErrorCase",
    "FakeService",
    "HttpFactory",
    "ImageProviderConformance",
    "ProviderFactory",
    "RecordedRequest",
    "Reply",
    "TextProviderConformance",
    "error_body",
    "png",
]

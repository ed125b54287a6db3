"""Suite-wide test isolation: no user config, no keys, no third-party plugins, no network."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
STORIES = REPO.parent / "shared" / "stories"
EXAMPLES = REPO / "examples"

SECRET_ENV = ("OPENROUTER_API_KEY", "RUNWARE_API_KEY")

# The conformance kit's fake_service fixture, and pytester to run the kit as an author would.
pytest_plugins = ["storyframe.testing.plugin", "pytester"]


@pytest.fixture(autouse=True)
def _isolated_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """Each test sees only the bundled plugins, no API keys (in the environment or registered for
    redaction by an earlier test), an empty user config dir and an empty cache dir."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.delenv("STORYFRAME_NO_CACHE", raising=False)
    monkeypatch.setenv("STORYFRAME_LOAD_PLUGINS", "storyframe")
    monkeypatch.delenv("STORYFRAME_STRICT_PLUGINS", raising=False)
    monkeypatch.delenv("STORYFRAME_CONFIG", raising=False)
    monkeypatch.delenv("STORYFRAME_KEYS_FILE", raising=False)
    for name in SECRET_ENV:
        monkeypatch.delenv(name, raising=False)
    from storyframe import plugins, secrets

    # Keys a test registers (a provider registers its key when built) are redacted process-wide:
    # dropped after the test, or a later test that must see a key in a message sees "***".
    monkeypatch.setattr(secrets, "_known", set(secrets._known))

    plugins.reset()
    yield
    plugins.reset()


@pytest.fixture(scope="module")
def vcr_config() -> dict[str, Any]:
    """Credentials are never written to cassettes (pytest-recording replays only by default)."""
    return {
        "filter_headers": [("authorization", "Bearer <REDACTED>"), ("x-api-key", None)],
        "filter_query_parameters": ["key", "api_key"],
        "decode_compressed_response": True,
    }


@pytest.fixture(scope="module")
def vcr_cassette_dir(request: pytest.FixtureRequest) -> str:
    """Cassettes live in tests/cassettes/<test module name>/."""
    return str(TESTS / "cassettes" / request.module.__name__.rsplit(".", 1)[-1])


@pytest.fixture
def stories() -> Path:
    """The folder of public-domain stories shared with the project."""
    return STORIES

"""Fixtures for the Runware provider tests: the emulator, providers pointed at it, uuids."""

from __future__ import annotations

import importlib.util
import json
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from pydantic import SecretStr

HERE = Path(__file__).resolve().parent
KEY = "rw-test-key-5b1e0c7a9d"


def load_emulator() -> ModuleType:
    """The emulator module (tests run with --import-mode=importlib, so load it by path)."""
    name = "storyframe_tests_runware_emulator"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, HERE / "emulator.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture
def allowed_hosts() -> list[str]:
    """The network stays blocked (--block-network) except for the emulator on 127.0.0.1."""
    return [r"^127\.0\.0\.1$"]


@pytest.fixture
def emu() -> ModuleType:
    """The emulator module, for ``emu.Fault``."""
    return load_emulator()


@pytest.fixture
async def emulator(emu: ModuleType) -> AsyncIterator[Any]:
    """A running emulator that accepts :data:`KEY`."""
    server = emu.Emulator(api_key=KEY)
    await server.start()
    yield server
    await server.stop()


FAST = {
    "delivery": "sync",  # the default is async; these tests ask for each mode by name
    "poll_interval": 0.01,
    "poll_max_interval": 0.05,
    "poll_timeout": 3.0,
    "backoff_base": 0.001,
    "backoff_max": 0.01,
    "timeout": 2.0,
    "connect_timeout": 1.0,
    "max_retry_seconds": 5.0,
    "output_format": "PNG",
}


@pytest.fixture
async def make_provider(emulator: Any) -> AsyncIterator[Callable[..., Any]]:
    """Build Runware providers pointed at the emulator, with tiny delays; closed afterwards."""
    from storyframe_runware.config import RunwareConfig
    from storyframe_runware.provider import RunwareImageProvider

    built: list[RunwareImageProvider] = []

    def make(key: str | None = KEY, **overrides: Any) -> RunwareImageProvider:
        settings = {
            **FAST,
            "base_url": emulator.base_url,
            "allowed_download_hosts": ["127.0.0.1"],
            **overrides,
        }
        provider = RunwareImageProvider(
            RunwareConfig(**settings), SecretStr(key) if key is not None else None
        )
        built.append(provider)
        return provider

    yield make
    for provider in built:
        await provider.aclose()


def image_request(number: int = 1, prompt: str = "a red fox in the snow", **fields: Any) -> Any:
    """An ImageRequest with a realistic style."""
    from storyframe.models import ImageRequest
    from storyframe.styles import BUILTIN_STYLES

    values: dict[str, Any] = {
        "scene_number": number,
        "prompt": prompt,
        "negative_prompt": "blurry, text, watermark",
        "width": 1344,
        "height": 768,
        "seed": 4242 + number,
        "style": BUILTIN_STYLES[0],
    }
    values.update(fields)
    return ImageRequest(**values)


@pytest.fixture
def make_request() -> Callable[..., Any]:
    """Build ImageRequests: ``make_request(number, prompt, **fields)``."""
    return image_request


# -- cassettes -------------------------------------------------------------------------------


def cassette_uuids(path: Path) -> list[str]:
    """The imageInference/accountManagement taskUUIDs a cassette's requests carry, in order."""
    import yaml

    if not path.exists():
        return []
    recorded = yaml.safe_load(path.read_text())
    found: list[str] = []
    for interaction in recorded.get("interactions", []):
        body = interaction["request"].get("body")
        if not body:
            continue
        try:
            tasks = json.loads(body)
        except ValueError:
            continue
        for task in tasks if isinstance(tasks, list) else []:
            kind = task.get("taskType")
            if kind in ("imageInference", "accountManagement") and task["taskUUID"] not in found:
                found.append(task["taskUUID"])
    return found


# Record modes that replace a cassette's episodes (only ever run by hand, with a real key).
REWRITE_MODES = frozenset({"rewrite", "all"})


@pytest.fixture
def replay_uuids(
    default_cassette_name: str, vcr_cassette_dir: str, record_mode: str
) -> Iterator[Callable[[], str]]:
    """A uuid factory that replays the cassette's taskUUIDs (fresh uuid4s when recording)."""
    path = Path(vcr_cassette_dir) / f"{default_cassette_name}.yaml"
    rerecording = record_mode in REWRITE_MODES
    recorded = [] if rerecording else cassette_uuids(path)
    queue = iter(recorded)

    def factory() -> str:
        return next(queue, None) or str(uuid.uuid4())

    yield factory

"""The kit as a plugin author meets it: a test module of theirs, run by pytest (pytester)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

CONFTEST = 'pytest_plugins = ["storyframe.testing.plugin"]\n'

MODULE = """
import base64
import time

import pytest
from pydantic import SecretStr

from storyframe.testing import ImageProviderConformance, Reply, png
from http_providers import GoodHttpImage, ServiceConfig


class TestGoodImage(ImageProviderConformance):
    @pytest.fixture
    def http_factory(self):
        return lambda url, key, **kw: GoodHttpImage(ServiceConfig(base_url=url, **kw), key)

    def answer(self, request):
        body = request.json()
        image = base64.b64encode(png(body["width"], body["height"])).decode()
        return Reply(json={"image": image, "seed": body["seed"]})


class BlockingImage(GoodHttpImage):
    async def generate(self, request):
        image = await super().generate(request)
        time.sleep(0.4)  # blocks the event loop after its last await
        return image


class TestBlockingImage(TestGoodImage):
    @pytest.fixture
    def http_factory(self):
        return lambda url, key, **kw: BlockingImage(ServiceConfig(base_url=url, **kw), key)


@pytest.mark.asyncio
async def test_unused_reply_fails(fake_service):
    fake_service.queue(Reply(503))
"""


@pytest.mark.slow
def test_kit_runs_in_strict_mode_and_explains_failures(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_author=textwrap.dedent(MODULE))
    pytester.makepyfile(http_providers=(HERE / "http_providers.py").read_text(encoding="utf-8"))
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-o", "asyncio_mode=strict",
        "-o", "asyncio_default_fixture_loop_scope=function", "--block-network",
    )  # fmt: skip
    outcomes = result.parseoutcomes()
    result.stdout.fnmatch_lines(
        [
            "*fake_service: 1 queued replies never requested: 503*",
            "*the call blocked the event loop for 0.* s (bound 0.25 s)*",
            "FAILED test_author.py::TestBlockingImage::test_loop_not_blocked*",
            "ERROR test_author.py::test_unused_reply_fails*",
        ],
        consecutive=False,
    )
    assert (outcomes["failed"], outcomes["errors"]) == (1, 1), result.stdout.str()
    assert outcomes["passed"] >= 40

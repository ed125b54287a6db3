"""The fault matrix: one fault per run, and the exit code the contract of issue 8 gives it.

Text faults hit OpenRouter (the first text provider; ``heuristic`` is next), image faults hit
Runware or its image host (``placeholder`` is next). A fault queued once is recovered by a retry
(exit 0); a fault that lasts, or that is not worth retrying, hands the work to the next
provider (exit 5, degraded, the fallback naming the provider that failed).
"""

from __future__ import annotations

import email.utils
import time
from typing import Any

from tests.faults.harness import (
    EXIT_DEGRADED,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_PROJECT,
    SCENES,
    Blackhole,
    Case,
    Env,
    Outcome,
    disk_full,
    refused_url,
)
from tests.openrouter import emulator as ore
from tests.runware.emulator import Fault

EITHER = frozenset({EXIT_OK, EXIT_DEGRADED})  # retried, or handed on: the contract leaves it open
MANY = 40  # "always": more faults than any retry policy in the config will use


# --- helpers ----------------------------------------------------------------------------------


def router(*behaviours: Any, times: int = 1, after_ok: int = 0) -> Any:
    """Queue OpenRouter behaviours (``after_ok`` good answers first, e.g. to pass the analysis)."""

    def setup(env: Env) -> None:
        env.router.push(*([ore.ok()] * after_ok))
        for _ in range(times):
            env.router.push(*behaviours)

    return setup


def rw(kind: str, fault: Fault, times: int = 1) -> Any:
    """Queue a Runware fault for the next ``times`` requests of ``kind``."""

    def setup(env: Env) -> None:
        env.rw.queue(kind, *([fault] * times))  # type: ignore[arg-type]

    return setup


def rw_error(status: int, code: str, headers: dict[str, str] | None = None) -> Fault:
    body = {"errors": [{"code": code, "message": f"{code} (emulated)"}]}
    return Fault(status=status, body=body, headers=headers or {})


def task_error(code: str, times: int = 1, form: str = "errors") -> Any:
    def setup(env: Env) -> None:
        env.rw.fail_next(code, times, form=form)  # type: ignore[arg-type]

    return setup


def base_url(provider: str, make: Any) -> Any:
    """Point ``provider`` at the URL ``make(env)`` returns."""

    def setup(env: Env) -> None:
        env.providers[provider]["base_url"] = make(env)

    return setup


def blackhole(provider: str, path: str) -> Any:
    def setup(env: Env) -> None:
        hole = Blackhole()
        env.cleanups.append(hole.close)
        env.providers[provider]["base_url"] = hole.url(path)

    return setup


def no_key(variable: str) -> Any:
    def setup(env: Env) -> None:
        env.env.pop(variable, None)
        env.unset.append(variable)

    return setup


def reset_ms(seconds: float) -> int:
    return int((time.time() + seconds) * 1000)


def rate_limit_reset(seconds: float, *, in_body_only: bool = False, times: int = 1) -> Any:
    def setup(env: Env) -> None:
        limits = {"X-RateLimit-Limit": "20", "X-RateLimit-Remaining": "0"}
        limits["X-RateLimit-Reset"] = str(reset_ms(seconds))
        wire = {} if in_body_only else dict(limits)
        env.router.push(
            *[ore.status(429, "Rate limit exceeded", headers=wire, headers_in_body=limits)] * times
        )

    return setup


def retry_after_date(seconds: float, times: int = 1) -> Any:
    def setup(env: Env) -> None:
        date = email.utils.formatdate(time.time() + seconds, usegmt=True)
        env.rw.queue(
            "inference", *[rw_error(429, "rateLimitExceeded", {"Retry-After": date})] * times
        )

    return setup


def failed_reason(word: str, number: int) -> Any:
    def check(env: Env, o: Outcome) -> list[str]:
        reason = str((o.summary or {}).get("failed", {}).get(str(number), ""))
        if word not in reason.lower():
            return [f"scene {number}'s reason {reason!r} does not mention {word!r}"]
        return []

    return check


def cooled(service: str, at_most: int) -> Any:
    """After a wait past the cap the provider is not asked again this run (cool-down)."""

    def check(env: Env, o: Outcome) -> list[str]:
        if service == "openrouter":
            asked = len(env.router.chat_requests)
        else:
            asked = len(env.rw.inference_bodies())
        if asked > at_most:
            return [f"{service} was asked {asked} times; a cooled-down provider is asked no more"]
        return []

    return check


def breaker(at_most: int) -> Any:
    """After N consecutive failures Runware cools down: fewer requests than retrying every scene."""

    def check(env: Env, o: Outcome) -> list[str]:
        asked = len(env.rw.inference_bodies())
        if asked >= at_most:
            return [f"runware was asked {asked} times: no circuit breaker (< {at_most} expected)"]
        return []

    return check


def stderr_mentions(word: str) -> Any:
    def check(env: Env, o: Outcome) -> list[str]:
        return [] if word in o.stderr.lower() else [f"stderr does not mention {word!r}"]

    return check


# --- plugins ----------------------------------------------------------------------------------

RAISING_IMAGE = """
import storyframe
from storyframe.builtins.placeholder import PlaceholderImageProvider


class Raising(PlaceholderImageProvider):
    name = "raising-image"

    async def generate(self, request):
        raise {error}


@storyframe.hookimpl
def register_image_providers(register):
    register(Raising)
"""

RAISING_TEXT = """
import storyframe
from storyframe.builtins.heuristic import HeuristicTextProvider


class Raising(HeuristicTextProvider):
    name = "raising-text"

    async def analyze(self, story):
        raise {error}

    async def generate_scenes(self, story, n, style, analysis=None):
        raise {error}


@storyframe.hookimpl
def register_text_providers(register):
    register(Raising)
"""

HANGING_IMAGE = """
import asyncio
import storyframe
from storyframe.builtins.placeholder import PlaceholderImageProvider


class Hanging(PlaceholderImageProvider):
    name = "hanging-image"

    async def generate(self, request):
        await asyncio.sleep(3600)


@storyframe.hookimpl
def register_image_providers(register):
    register(Hanging)
"""

HANGING_TEXT = """
import asyncio
import storyframe
from storyframe.builtins.heuristic import HeuristicTextProvider


class Hanging(HeuristicTextProvider):
    name = "hanging-text"

    async def analyze(self, story):
        await asyncio.sleep(3600)

    async def generate_scenes(self, story, n, style, analysis=None):
        await asyncio.sleep(3600)


@storyframe.hookimpl
def register_text_providers(register):
    register(Hanging)
"""

STUBBORN_IMAGE = """
import asyncio
import os
import pathlib
import storyframe
from storyframe.builtins.placeholder import PlaceholderImageProvider


class Stubborn(PlaceholderImageProvider):
    name = "stubborn-image"

    async def generate(self, request):
        if not os.environ.get("SF_FAULT_STUBBORN"):  # the re-run: a plain placeholder
            return (await super().generate(request)).model_copy(update={"provider": self.name})
        pathlib.Path(os.environ["SF_FAULT_MARKER"]).touch()
        while True:
            try:
                await asyncio.sleep(0.05)
            except asyncio.CancelledError:
                pass  # swallows cancellation


@storyframe.hookimpl
def register_image_providers(register):
    register(Stubborn)
"""


def marker(env: Env) -> None:
    env.env["SF_FAULT_MARKER"] = str(env.root / "started")
    env.first_env["SF_FAULT_STUBBORN"] = "1"


# --- the matrix -------------------------------------------------------------------------------


def _cases() -> list[Case]:
    c: list[Case] = []
    add = c.append
    deg_or = {"exit": EXIT_DEGRADED, "fallback_after": "openrouter"}
    deg_rw = {"exit": EXIT_DEGRADED, "fallback_after": "runware"}

    # Clean runs, and providers merely skipped for having no key (not a failure).
    add(Case("none (sync)"))
    add(Case("none (async)", delivery="async"))
    add(Case("no OpenRouter key: skipped, not degraded", no_key("OPENROUTER_API_KEY"),
             written_by="heuristic"))  # fmt: skip
    add(Case("no Runware key: skipped, not degraded", no_key("RUNWARE_API_KEY"),
             drawn_by="placeholder"))  # fmt: skip

    # OpenRouter: HTTP-level faults, once (retried) and for good (handed on).
    add(Case("OR 429 Retry-After: 0", router(ore.rate_limited(0))))
    add(Case("OR 429 without Retry-After", router(ore.rate_limited(None))))
    add(Case("OR 429 Retry-After: 3600", router(ore.rate_limited(3600), times=MANY), budget=3,
             check=cooled("openrouter", 1), **deg_or))  # fmt: skip
    add(Case("OR 429 X-RateLimit-Reset (+0.2 s)", rate_limit_reset(0.2)))
    add(
        Case(
            "OR 429 X-RateLimit-Reset in error.metadata.headers only",
            rate_limit_reset(0.2, in_body_only=True),
        )
    )
    add(Case("OR 429 X-RateLimit-Reset (+1 h)", rate_limit_reset(3600, times=MANY), budget=3,
             check=cooled("openrouter", 1), **deg_or))  # fmt: skip
    for code in (500, 502, 503, 504):
        add(Case(f"OR {code} once", router(ore.status(code))))
    add(Case("OR 503 always", router(ore.status(503), times=MANY), **deg_or))
    add(Case("OR connection reset", router(ore.reset())))
    add(
        Case(
            "OR connection refused",
            base_url("openrouter", lambda e: refused_url("/api/v1")),
            **deg_or,
        )
    )
    add(
        Case(
            "OR connect timeout (blackhole)",
            blackhole("openrouter", "/api/v1"),
            budget=10,
            **deg_or,
        )
    )
    add(
        Case(
            "OR DNS failure (.invalid)",
            base_url("openrouter", lambda e: "http://nonexistent.invalid/api/v1"),
            budget=5,
            **deg_or,
        )
    )
    add(Case("OR read timeout", router(ore.slow(5))))
    add(Case("OR slow body", router(ore.slow_body(5))))
    add(Case("OR malformed JSON", router(ore.bad_json()), exit=EITHER, fallback_after="openrouter"))
    add(
        Case(
            "OR 200 carrying an error",
            router(ore.error_in_200(502)),
            exit=EITHER,
            fallback_after="openrouter",
        )
    )
    add(
        Case(
            "OR choices[0].error",
            router(ore.error_in_200(502, in_choice=True)),
            exit=EITHER,
            fallback_after="openrouter",
        )
    )
    add(
        Case(
            "OR invalid structured output",
            router(ore.content('{"scenes": [{"title": 7}]}'), after_ok=1),
            exit=EITHER,
            fallback_after="openrouter",
        )
    )
    add(
        Case(
            "OR wrong scene count",
            router(ore.scenes(SCENES - 1), after_ok=1),
            exit=EITHER,
            fallback_after="openrouter",
        )
    )
    add(Case("OR empty content", router(ore.empty()), exit=EITHER, fallback_after="openrouter"))
    add(Case("OR 401 (bad key)", router(ore.status(401), times=MANY), **deg_or))

    # Runware: HTTP-level faults.
    add(
        Case(
            "RW 429 Retry-After: 0",
            rw("inference", rw_error(429, "rateLimitExceeded", {"Retry-After": "0"})),
        )
    )
    add(Case("RW 429 without Retry-After", rw("inference", rw_error(429, "rateLimitExceeded"))))
    add(Case("RW 429 Retry-After as HTTP date (now)", retry_after_date(0)))
    huge = rw_error(429, "rateLimitExceeded", {"Retry-After": "3600"})
    add(Case("RW 429 Retry-After: 3600", rw("inference", huge, MANY), budget=3,
             check=cooled("runware", 2), **deg_rw))  # fmt: skip
    add(Case("RW 429 Retry-After HTTP date (+1 h)", retry_after_date(3600, MANY), budget=3,
             check=cooled("runware", 2), **deg_rw))  # fmt: skip
    for code, name in (
        (500, "internalServerError"),
        (502, "badGateway"),
        (503, "serviceUnavailable"),
        (504, "gatewayTimeout"),
    ):
        add(Case(f"RW {code} once", rw("inference", rw_error(code, name))))
    add(Case("RW 503 always", rw("inference", rw_error(503, "serviceUnavailable"), MANY), **deg_rw))
    add(
        Case(
            "RW 503 always: circuit breaker (4 scenes, one at a time)",
            rw("inference", rw_error(503, "serviceUnavailable"), MANY),
            scenes=4,
            providers={"runware": {"batch_size": 1, "concurrency": 1}},
            check=breaker(4 * 3),  # 4 scenes x max_attempts 3 without a breaker
            **deg_rw,
        )
    )
    add(
        Case(
            "RW 402 insufficientCredits",
            rw("inference", rw_error(402, "insufficientCredits"), MANY),
            **deg_rw,
        )
    )
    add(Case("RW connection reset (before processing)", rw("inference", Fault(reset=True))))
    add(
        Case(
            "RW connection reset after processing (paid)",
            rw("inference", Fault(reset=True, after_processing=True)),
        )
    )
    add(
        Case("RW read timeout (sync, paid, recovered)", rw("inference", Fault(delay=2.0)), budget=8)
    )
    add(
        Case("RW malformed JSON 200 (paid)", rw("inference", Fault(raw=b'{"data": [{"taskType": ')))
    )
    add(Case("RW connection refused", base_url("runware", lambda e: refused_url("/v1")), **deg_rw))
    add(Case("RW connect timeout (blackhole)", blackhole("runware", "/v1"), budget=10, **deg_rw))
    add(
        Case(
            "RW DNS failure (.invalid)",
            base_url("runware", lambda e: "http://nonexistent.invalid/v1"),
            budget=5,
            **deg_rw,
        )
    )

    # Runware: task-level errors, sync (errors[] at submission).
    for code in ("timeoutProvider", "providerTimeout", "inferenceError", "taskFailed",
                 "noAvailableServer", "modelUnavailable", "serviceUnavailable",
                 "internalServerError"):  # fmt: skip
        add(Case(f"RW task {code} (sync)", task_error(code)))
    add(Case("RW task timeoutProvider always", task_error("timeoutProvider", MANY), **deg_rw))
    add(Case("RW task contentPolicyViolation", task_error("contentPolicyViolation"), **deg_rw))
    add(Case("RW task inferenceRateLimitExceeded", task_error("inferenceRateLimitExceeded")))

    # Runware: async delivery, both failure forms, and poll faults.
    for code in ("timeoutProvider", "inferenceError"):
        add(Case(f"RW async {code} in errors[]", task_error(code, form="errors"), delivery="async"))
        add(
            Case(
                f"RW async {code} as data status=error",
                task_error(code, form="data"),
                delivery="async",
            )
        )
    add(
        Case("RW async poll 503", rw("poll", rw_error(503, "serviceUnavailable")), delivery="async")
    )
    add(Case("RW async poll reset", rw("poll", Fault(reset=True)), delivery="async"))
    add(Case("RW async poll malformed JSON", rw("poll", Fault(raw=b"<html>")), delivery="async"))

    # The image host (the image is paid: a download is retried from the recorded URL).
    for name, fault in (
        ("truncated body", Fault(image="truncated")),
        ("corrupt image", Fault(image="corrupt")),
        ("HTML instead of an image", Fault(image="html")),
        ("404", Fault(status=404)),
        ("500", Fault(status=500)),
        ("503", Fault(status=503)),
        ("reset", Fault(reset=True)),
    ):
        add(Case(f"image host {name}", rw("image", fault)))
    add(Case("image host oversize", rw("image", Fault(image="oversized")),
             providers={"runware": {"max_download_bytes": 1_000_000}}, exit=EITHER,
             fallback_after="runware"))  # fmt: skip
    add(Case("image URL on a disallowed host", lambda e: e.rw.misdirect("localhost"), **deg_rw))
    add(
        Case(
            "image host redirect to a disallowed host",
            rw("image", Fault(redirect_host="localhost")),
            **deg_rw,
        )
    )

    # Disk full while saving (ENOSPC from storyframe's atomic writer).
    add(Case("disk full saving scene 2's image",
             lambda e: e.patch(disk_full(lambda p: p.name.startswith("scene-02"))),
             exit=EXIT_PARTIAL, check=failed_reason("space", 2)))  # fmt: skip

    def manifest_full(env: Env) -> None:
        seen = {"n": 0}

        def match(path: Any) -> bool:
            # The scenes are saved; the manifest written at the end of the drawing stage is not.
            if path.name != "storyboard.json":
                return False
            seen["n"] += 1
            return seen["n"] > 1

        env.patch(disk_full(match))

    add(Case("disk full saving the manifest", manifest_full, exit=EXIT_PROJECT,
             check=stderr_mentions("space")))  # fmt: skip

    # Third-party plugins that misbehave.
    for error in ("Exception('boom')", "KeyError('scene')", "ValueError('bad value')"):
        kind = error.split("(")[0]
        add(Case(f"image plugin raises bare {kind}", plugin=RAISING_IMAGE.format(error=error),
                 image_chain=["raising-image", "placeholder"], exit=EXIT_DEGRADED,
                 fallback_after="raising-image"))  # fmt: skip
        add(Case(f"text plugin raises bare {kind}", plugin=RAISING_TEXT.format(error=error),
                 text_chain=["raising-text", "heuristic"], exit=EXIT_DEGRADED,
                 fallback_after="raising-text"))  # fmt: skip
    add(Case("image plugin hangs (deadline 0.5 s)", plugin=HANGING_IMAGE,
             image_chain=["hanging-image", "placeholder"],
             providers={"hanging-image": {"deadline": 0.5}}, runner="subprocess", budget=10,
             exit=EXIT_DEGRADED, fallback_after="hanging-image"))  # fmt: skip
    add(Case("text plugin hangs (deadline 0.5 s)", plugin=HANGING_TEXT,
             text_chain=["hanging-text", "heuristic"],
             providers={"hanging-text": {"deadline": 0.5}}, runner="subprocess", budget=10,
             exit=EXIT_DEGRADED, fallback_after="hanging-text"))  # fmt: skip
    add(Case("image plugin ignores cancellation, then SIGINT", marker, plugin=STUBBORN_IMAGE,
             image_chain=["stubborn-image", "placeholder"], run={"interrupt_grace": 0.5},
             runner="interrupt", budget=12))  # fmt: skip

    # SIGKILL at a random moment, then the same command again: nothing paid twice, nothing lost.
    def slow_runware(env: Env) -> None:
        env.rw.latency = 0.25

    for seed in range(1, 21):
        delivery = "sync" if seed % 2 else "async"
        add(Case(f"SIGKILL + re-run #{seed} ({delivery})", slow_runware, delivery=delivery,
                 runner="kill", seed=seed, scenes=4, budget=15,
                 providers={"runware": {"batch_size": 1, "concurrency": 2}},
                 check=paid_once_all))  # fmt: skip

    # SIGINT with batches in flight, then the same command again.
    def slower_runware(env: Env) -> None:
        env.rw.latency = 0.4

    for seed in range(1, 11):
        delivery = "sync" if seed % 2 else "async"
        add(Case(f"SIGINT + re-run #{seed} ({delivery})", slower_runware, delivery=delivery,
                 runner="interrupt", seed=100 + seed, scenes=4, budget=15,
                 providers={"runware": {"batch_size": 1, "concurrency": 2}},
                 check=paid_once_all))  # fmt: skip
    return c


def paid_once_all(env: Env, o: Outcome) -> list[str]:
    """After the re-run every scene is Runware's, each bought exactly once."""
    board = o.board or {}
    found = []
    for record in board.get("scenes", []):
        if record.get("provider") != "runware":
            found.append(f"scene {record['scene']['number']} drawn by {record.get('provider')}")
    counts = env.rw.paid_per_prompt()
    if len(counts) != env.case.scenes:
        found.append(f"{len(counts)} distinct prompts paid, expected {env.case.scenes}")
    return found


CASES: list[Case] = _cases()
KINDS = sorted({case.kind.split(" #")[0] for case in CASES})

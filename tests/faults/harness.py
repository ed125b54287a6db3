"""Run `storyframe run` once per fault against the local look-alikes, and judge the outcome.

A :class:`Case` scripts one fault (on the OpenRouter or Runware emulator, the image host, the
disk, a plugin, or a signal), runs the CLI (in-process with click's CliRunner, or as a
subprocess when a signal or a possible hang is involved) and returns an :class:`Outcome`.
:func:`problems` lists every way the outcome breaks the contract of issue 8; the pytest module
asserts that list is empty, and ``python -m tests.faults`` prints it as a table.

Everything listens on 127.0.0.1; a ``.invalid`` host fails to resolve locally (the resolver is
wrapped in-process so the lookup never leaves the machine, as RFC 6761 asks of resolvers).
"""

from __future__ import annotations

import contextlib
import errno
import gc
import hashlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
STORY = REPO / "examples" / "stories" / "golden-bird.txt"
OR_KEY = "sk-or-v1-" + "5a5a5a5a5a5a5a5a" * 4
RW_KEY = "rw-faults-secret-key-0a1b2c3d4e"
SCENES = 3

EXIT_OK, EXIT_USAGE, EXIT_PROJECT, EXIT_PARTIAL, EXIT_DEGRADED, EXIT_INTERRUPTED = (
    0,
    2,
    3,
    4,
    5,
    130,
)

Setup = Callable[["Env"], None]


@dataclass
class Case:
    """One fault and what the contract says must come of it.

    ``exit``: the documented exit code (a set only where the contract leaves the choice open:
    then each allowed code's own rules are checked). ``fallback_after``: when the run is
    degraded, the provider a fallback must name as the one that failed. ``budget``: seconds the
    run may take (wall time, including a re-run).
    """

    kind: str
    setup: Setup | None = None
    exit: int | frozenset[int] = EXIT_OK
    delivery: str = "sync"
    budget: float = 8.0
    fallback_after: str | None = None
    providers: dict[str, dict[str, Any]] = field(default_factory=dict)
    run: dict[str, Any] = field(default_factory=dict)
    text_chain: list[str] = field(default_factory=lambda: ["openrouter", "heuristic"])
    image_chain: list[str] = field(default_factory=lambda: ["runware", "placeholder"])
    plugin: str | None = None  # source of a plugin module registered for this run
    runner: str = "inproc"  # inproc | subprocess | kill | interrupt
    seed: int = 0  # the kill/interrupt delay comes from random.Random(seed)
    scenes: int = SCENES
    rerun_args: list[str] = field(default_factory=list)
    check: Callable[[Env, Outcome], list[str]] | None = None
    drawn_by: str | None = None  # who draws every scene in a clean (exit 0) run: image_chain[0]
    written_by: str | None = None  # who writes the scenes in a clean run: text_chain[0]

    @property
    def exits(self) -> frozenset[int]:
        return self.exit if isinstance(self.exit, frozenset) else frozenset({self.exit})


@dataclass
class Outcome:
    """What one case did."""

    kind: str
    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""
    summary: dict[str, Any] | None = None
    board: dict[str, Any] | None = None
    wall: float = 0.0
    requests: int = 0
    retries: int = 0
    paid: int = 0
    paid_twice: int = 0
    lost: int = 0
    first_exit: int | None = None  # the killed/interrupted run's exit code
    first_stderr: str = ""
    signal_at: float | None = None  # seconds after the start the signal was sent
    problems: list[str] = field(default_factory=list)

    @property
    def outcome(self) -> str:
        if self.first_exit is not None or self.signal_at is not None:
            first = f"signal at {self.signal_at or 0:.2f} s -> exit {self.first_exit}; re-run: "
            return first + self._outcome()
        return self._outcome()

    def _outcome(self) -> str:
        if self.summary is None:
            return {130: "interrupted", 3: "project error", 2: "bad input"}.get(
                self.exit_code or -1, "no summary"
            )
        if self.summary.get("failed"):
            return f"{len(self.summary['failed'])} failed"
        if self.summary.get("degraded"):
            whom = sorted({str(f.get("after")) for f in self.summary.get("fallbacks") or []})
            return "degraded (after " + ",".join(whom) + ")"
        return "ok"


class Env:
    """The services, the folder and the configuration of one run."""

    def __init__(self, case: Case, root: Path, router: Any, rw: Any, urls: tuple[str, str]):
        self.case = case
        self.root = root
        self.router = router
        self.rw = rw
        self.router_url, self.rw_url = urls
        self.out = root / "project"
        self.env: dict[str, str] = {
            "OPENROUTER_API_KEY": OR_KEY,
            "RUNWARE_API_KEY": RW_KEY,
            "STORYFRAME_LOAD_PLUGINS": "storyframe",  # the bundled plugins only (and ours)
            "XDG_CONFIG_HOME": str(root / "config-home"),
        }
        self.unset: list[str] = []
        self.first_env: dict[str, str] = {}  # only for the run that gets the signal
        self.providers: dict[str, dict[str, Any]] = {
            "openrouter": {
                "base_url": self.router_url,
                "timeout": 1.0,
                "connect_timeout": 0.5,
                "max_attempts": 3,
                "max_retry_seconds": 3.0,
                "backoff_base": 0.01,
                "backoff_max": 0.05,
                "retry_after_cap": 0.5,
            },
            "runware": {
                "base_url": self.rw_url,
                "timeout": 1.0,
                "connect_timeout": 0.5,
                "max_attempts": 3,
                "max_retry_seconds": 3.0,
                "backoff_base": 0.01,
                "backoff_max": 0.05,
                "retry_after_cap": 0.5,
                "allowed_download_hosts": ["127.0.0.1"],
                "delivery": case.delivery,
                "poll_interval": 0.02,
                "poll_max_interval": 0.05,
                "poll_timeout": 3.0,
                "batch_size": 2,
            },
        }
        for name, keys in case.providers.items():
            self.providers.setdefault(name, {}).update(keys)
        self.run: dict[str, Any] = dict(case.run)
        self.text_chain = list(case.text_chain)
        self.image_chain = list(case.image_chain)
        self.site: Path | None = None
        self.patches: list[Callable[[pytest.MonkeyPatch], None]] = []
        self.cleanups: list[Callable[[], None]] = []

    def patch(self, fn: Callable[[pytest.MonkeyPatch], None]) -> None:
        """Apply ``fn(monkeypatch)`` around an in-process run (e.g. a full disk)."""
        self.patches.append(fn)

    def config(self) -> Path:
        lines = [
            "[text]",
            f"providers = {_toml(self.text_chain)}",
            "[image]",
            f"providers = {_toml(self.image_chain)}",
        ]
        if self.run:
            lines.append("[run]")
            lines += [f"{k} = {_toml(v)}" for k, v in self.run.items()]
        for name, keys in self.providers.items():
            lines.append(f"[providers.{name}]")
            lines += [f"{k} = {_toml(v)}" for k, v in keys.items()]
        path = self.root / "storyframe.toml"
        path.write_text("\n".join(lines) + "\n")
        return path

    def args(self, *extra: str) -> list[str]:
        return [
            "--config", str(self.config()), "run", str(STORY), "-n", str(self.case.scenes),
            "-o", str(self.out), "--json", *extra,
        ]  # fmt: skip

    def install_plugin(self, source: str) -> str:
        """Write ``source`` as a plugin distribution under ``root/site``; return its module."""
        self.site = self.root / "site"
        self.site.mkdir(exist_ok=True)
        module = f"sf_fault_plugin_{uuid.uuid4().hex[:8]}"
        (self.site / f"{module}.py").write_text(textwrap.dedent(source))
        info = self.site / f"{module}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {module.replace('_', '-')}\nVersion: 1.0\n"
        )
        (info / "entry_points.txt").write_text(f"[storyframe]\n{module} = {module}\n")
        self.env["STORYFRAME_LOAD_PLUGINS"] = f"storyframe,{module}"
        return module


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(str(value))


# --- places that misbehave at the socket level ------------------------------------------------


def refused_url(path: str) -> str:
    """An URL on a port where nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"


class Blackhole:
    """A port whose accept queue is full, so a new connection's SYN is dropped: connects hang.

    It listens with a backlog of 0 and never accepts; filler connections fill the queue.
    """

    def __init__(self) -> None:
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(0)
        self.port = self.server.getsockname()[1]
        self.fillers: list[socket.socket] = []
        for _ in range(8):
            filler = socket.socket()
            filler.settimeout(0.2)
            try:
                filler.connect(("127.0.0.1", self.port))
            except OSError:
                filler.close()
                break
            self.fillers.append(filler)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        for sock in self.fillers:
            sock.close()
        self.server.close()


_real_getaddrinfo = socket.getaddrinfo


def _local_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if isinstance(host, bytes):
        host = host.decode()
    if isinstance(host, str) and host.rstrip(".").endswith(".invalid"):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    return _real_getaddrinfo(host, *args, **kwargs)


def disk_full(match: Callable[[Path], bool]) -> Callable[[pytest.MonkeyPatch], None]:
    """A patch making storyframe's atomic writes of matching paths fail with ENOSPC."""

    def apply(mp: pytest.MonkeyPatch) -> None:
        from storyframe import project

        real = project.atomic_write

        def atomic_write(path: Path, data: bytes) -> None:
            if match(Path(path)):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
            real(path, data)

        mp.setattr(project, "atomic_write", atomic_write)
        # A downloaded image is not rewritten but renamed into place: fail that the same way.
        adopt = project.Project.adopt_image

        def adopt_image(self: Any, number: int, source: Path, **info: Any) -> Any:
            target = self.image_path(number, info["media_type"])
            if match(Path(target)):
                error = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target))
                raise project._write_error(target, error)
            return adopt(self, number, source, **info)

        mp.setattr(project.Project, "adopt_image", adopt_image)

    return apply


# --- running ----------------------------------------------------------------------------------


class _Watchdog(BaseException):
    """Raised in the main thread when an in-process run outlives its hard limit."""


@contextlib.contextmanager
def _watchdog(seconds: float) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def fire(*_: Any) -> None:
        raise _Watchdog(f"the run did not end within {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, fire)
    # It fires again every second: a task that happens to be running may swallow one alarm.
    signal.setitimer(signal.ITIMER_REAL, seconds, 1.0)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _inproc(env: Env, args: list[str], limit: float) -> tuple[int, str, str]:
    from click.testing import CliRunner

    from storyframe import plugins
    from storyframe.cli import cli

    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.env.items():
            mp.setenv(key, value)
        for key in ["STORYFRAME_CONFIG", "STORYFRAME_STRICT_PLUGINS", *env.unset]:
            mp.delenv(key, raising=False)
        if env.site is not None:
            mp.syspath_prepend(str(env.site))
        mp.setattr(socket, "getaddrinfo", _local_getaddrinfo)
        for fn in env.patches:
            fn(mp)
        plugins.reset()
        try:
            with _watchdog(limit):
                result = CliRunner().invoke(cli, args, catch_exceptions=True)
        except _Watchdog as error:
            return -1, "", str(error)
        finally:
            plugins.reset()
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        stderr += "".join(traceback.format_exception(result.exception))
    return result.exit_code, result.stdout, stderr


def _sub_env(env: Env) -> dict[str, str]:
    drop = ("STORYFRAME_CONFIG", "STORYFRAME_STRICT_PLUGINS", *env.unset)
    out = {k: v for k, v in os.environ.items() if k not in drop}
    out.update(env.env)
    paths = [str(REPO)] + ([str(env.site)] if env.site else [])
    out["PYTHONPATH"] = os.pathsep.join([*paths, os.environ.get("PYTHONPATH", "")])
    return out


def _popen(env: Env, args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "storyframe", *args],
        env={**_sub_env(env), **env.first_env},
        cwd=env.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _subprocess(env: Env, args: list[str], limit: float) -> tuple[int, str, str]:
    process = _popen(env, args)
    try:
        stdout, stderr = process.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
        return -1, stdout, stderr + f"\n(killed by the harness after {limit:.0f} s)"
    return process.returncode, stdout, stderr


def done_images(out: Path) -> dict[int, str]:
    """Scene number -> recorded sha256 of every scene the manifest calls done."""
    try:
        board = json.loads((out / "storyboard.json").read_text())
    except (OSError, ValueError):
        return {}
    return {
        s["scene"]["number"]: (s.get("image") or {}).get("sha256", "")
        for s in board.get("scenes", [])
        if s.get("status") == "done"
    }


def run_case(case: Case, root: Path | None = None) -> Outcome:
    """Run ``case`` against fresh emulators; return its outcome with its problems listed."""
    from tests.openrouter.emulator import OpenRouterEmulator
    from tests.runware.emulator import Emulator, serve_in_thread

    outcome = Outcome(case.kind)
    gc.collect()  # so "Task was destroyed" noise from earlier runs is not printed into this one
    with contextlib.ExitStack() as stack:
        if root is None:
            root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sf-fault-")))
        router = OpenRouterEmulator(api_key=OR_KEY)
        rw = Emulator(api_key=RW_KEY, image_scale=16)
        urls = (
            stack.enter_context(serve_in_thread(router)),
            stack.enter_context(serve_in_thread(rw)),
        )
        env = Env(case, root, router, rw, urls)
        stack.callback(lambda: [fn() for fn in env.cleanups])
        if case.plugin is not None:
            env.install_plugin(case.plugin)
        if case.setup is not None:
            case.setup(env)
        limit = case.budget * 3 + 10
        before: dict[int, str] = {}
        started = time.monotonic()
        if case.runner == "inproc":
            code, stdout, stderr = _inproc(env, env.args(), limit)
        elif case.runner == "subprocess":
            code, stdout, stderr = _subprocess(env, env.args(), limit)
        else:
            first, first_err, before, at = _interrupt(env, case, limit)
            outcome.first_exit, outcome.first_stderr, outcome.signal_at = first, first_err, at
            code, stdout, stderr = _inproc(env, env.args(*case.rerun_args), limit)
        outcome.wall = time.monotonic() - started
        outcome.exit_code, outcome.stdout, outcome.stderr = code, stdout, stderr
        with contextlib.suppress(ValueError):
            outcome.summary = json.loads(stdout) if stdout.strip() else None
        with contextlib.suppress(OSError, ValueError):
            outcome.board = json.loads((env.out / "storyboard.json").read_text())
        outcome.requests = len(router.requests) + len(rw.bodies) + len(rw.image_hits)
        outcome.paid = rw.images_paid
        outcome.paid_twice = sum(1 for n in rw.paid_per_prompt().values() if n > 1)
        after = done_images(env.out)
        outcome.lost = sum(1 for n, sha in before.items() if after.get(n) != sha)
        outcome.problems = problems(case, env, outcome)
        if case.check is not None:
            outcome.problems += case.check(env, outcome)
    return outcome


def _interrupt(env: Env, case: Case, limit: float) -> tuple[int, str, dict[int, str], float]:
    """Start the run as a subprocess and SIGKILL or SIGINT it.

    SIGKILL: one seed in five kills at a random moment of the first second (start-up, the text
    stage); the others once the first image request reached Runware, plus a random delay that
    spans the image stage. SIGINT: once images are in flight (or a plugin left its marker).
    Returns (exit code, stderr, done scenes with their sha256 before the re-run, signal time).
    """
    rng = random.Random(case.seed)
    started = time.monotonic()
    at = 0.0
    process = _popen(env, env.args())
    try:
        early = case.runner == "kill" and rng.random() < 0.2
        if early:
            time.sleep(rng.uniform(0.2, 1.0))
        else:
            deadline = started + limit
            marker = env.root / "started"
            while not (env.rw.inference_bodies() or marker.exists()):
                if process.poll() is not None or time.monotonic() > deadline:
                    break
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.8 if case.runner == "kill" else 0.15))
        at = time.monotonic() - started
        process.send_signal(signal.SIGKILL if case.runner == "kill" else signal.SIGINT)
        _, stderr = process.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        process.kill()
        _, stderr = process.communicate()
        stderr += "\n(killed by the harness: no exit after the signal)"
        return -1, stderr, done_images(env.out), at
    return process.returncode, stderr, done_images(env.out), at


# --- the contract -----------------------------------------------------------------------------


def problems(case: Case, env: Env, o: Outcome) -> list[str]:
    """Every way ``o`` breaks the contract."""
    found: list[str] = []
    if case.runner == "interrupt" and o.first_exit != EXIT_INTERRUPTED:
        found.append(f"SIGINT: exit {o.first_exit}, expected 130")
    if case.runner == "interrupt" and "Traceback" in o.first_stderr:
        found.append("SIGINT: traceback on stderr")
    if case.runner == "kill" and o.first_exit not in (-signal.SIGKILL, 0, 4, 5):
        found.append(f"the killed run exited {o.first_exit}")
    if o.exit_code not in case.exits:
        found.append(
            f"exit {o.exit_code}, expected {sorted(case.exits)}; stderr: {o.stderr.strip()[-300:]}"
        )
    if "Traceback" in o.stderr:
        found.append("traceback on stderr")
    if o.paid_twice:
        found.append(f"{o.paid_twice} image(s) paid twice")
    if o.lost:
        found.append(f"{o.lost} finished scene(s) lost or changed by the re-run")
    if o.wall > case.budget:
        found.append(f"took {o.wall:.1f} s, budget {case.budget:.1f} s")
    if o.exit_code in (EXIT_OK, EXIT_PARTIAL, EXIT_DEGRADED):
        found += _check_summary(case, env, o)
    elif o.board is not None and o.exit_code == EXIT_PROJECT:
        found += _check_board(env, o.board, allow_pending=True)
    return found


def _check_board(env: Env, board: dict[str, Any], *, allow_pending: bool = False) -> list[str]:
    found = []
    for record in board.get("scenes", []):
        number = record.get("scene", {}).get("number")
        status = record.get("status")
        if status == "done":
            image = record.get("image") or {}
            path = env.out / str(image.get("path", ""))
            if not path.is_file():
                found.append(f"scene {number}: done but its image is missing")
            elif hashlib.sha256(path.read_bytes()).hexdigest() != image.get("sha256"):
                found.append(f"scene {number}: image does not match its sha256")
        elif status == "failed":
            if not record.get("error"):
                found.append(f"scene {number}: failed without a reason")
        elif not allow_pending:
            found.append(f"scene {number}: left {status!r} after the run ended")
    return found


def _check_summary(case: Case, env: Env, o: Outcome) -> list[str]:
    s = o.summary
    if s is None:
        return ["no JSON summary on stdout"]
    found: list[str] = []
    missing = [k for k in ("ok", "degraded", "fallbacks", "failed", "done", "cost") if k not in s]
    if missing:
        found.append(f"summary lacks {missing}")
    if o.board is None:
        return [*found, "no readable storyboard.json"]
    found += _check_board(env, o.board)
    failed = s.get("failed") or {}
    fallbacks = s.get("fallbacks") or []
    if o.exit_code == EXIT_OK:
        if not s.get("ok") or failed or s.get("degraded") or fallbacks:
            found.append("exit 0 but the summary reports failures or fallbacks")
    elif o.exit_code == EXIT_PARTIAL:
        if not failed:
            found.append("exit 4 but no failed scenes in the summary")
        for number, reason in failed.items():
            if not reason:
                found.append(f"scene {number} failed without a reason")
    elif o.exit_code == EXIT_DEGRADED:
        if failed:
            found.append("exit 5 but some scenes failed")
        if not s.get("degraded") or not fallbacks:
            found.append("exit 5 but the summary is not degraded or lists no fallbacks")
        for item in fallbacks:
            if not isinstance(item, dict) or not {"stage", "provider", "after", "reason"} <= set(
                item
            ):
                found.append(f"malformed fallback {item!r}")
                break
        after = case.fallback_after
        if after and not any(isinstance(f, dict) and f.get("after") == after for f in fallbacks):
            found.append(f"no fallback names {after!r} as the provider that failed")
        for item in fallbacks:
            if isinstance(item, dict) and item.get("stage") == "image":
                rec = _scene(o.board, item.get("scene"))
                if rec is not None and not (rec.get("fallback") or {}).get("after"):
                    found.append(f"scene {item.get('scene')}: degraded but no manifest fallback")
    if o.exit_code == EXIT_OK:
        drawn_by = case.drawn_by or case.image_chain[0]
        others = {
            r["scene"]["number"]: r.get("provider")
            for r in o.board.get("scenes", [])
            if r.get("status") == "done" and r.get("provider") != drawn_by
        }
        if others:
            found.append(f"exit 0 but not every scene was drawn by {drawn_by}: {others}")
        written_by = case.written_by or case.text_chain[0]
        if s.get("text_provider") not in (None, written_by):
            found.append(f"exit 0 but the scenes were written by {s.get('text_provider')}")
    if o.exit_code in (EXIT_OK, EXIT_DEGRADED) and len(s.get("done") or []) != case.scenes:
        found.append(f"done {s.get('done')}, expected all {case.scenes} scenes")
    return found


def _scene(board: dict[str, Any], number: Any) -> dict[str, Any] | None:
    for record in board.get("scenes", []):
        if record.get("scene", {}).get("number") == number:
            return record
    return None


# --- retries: requests beyond a clean run's ---------------------------------------------------

_BASELINE: dict[tuple[str, int, int], int] = {}


def baseline(case: Case) -> int:
    """Requests a clean run like ``case``'s makes (both services and the image host)."""
    batch = int(case.providers.get("runware", {}).get("batch_size", 2))
    key = (case.delivery, case.scenes, batch)
    if key not in _BASELINE:
        clean = Case(
            "baseline",
            delivery=case.delivery,
            scenes=case.scenes,
            providers={"runware": {"batch_size": batch}},
        )
        _BASELINE[key] = run_case(clean).requests
    return _BASELINE[key]


def with_retries(case: Case, outcome: Outcome) -> Outcome:
    """Fill in ``retries``: requests seen at the emulators beyond a clean run's."""
    outcome.retries = max(0, outcome.requests - baseline(case))
    return outcome

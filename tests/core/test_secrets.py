"""Secrets stay out of messages, reprs and logs."""

from __future__ import annotations

import logging

import pytest

from storyframe import secrets
from storyframe.errors import AuthError, ConfigError, ProviderError, Transient
from storyframe.secrets import MASK, RedactingFilter, redact, register_secret

OPENROUTER_KEY = "sk-or-v1-" + "0123456789abcdef" * 4


@pytest.fixture(autouse=True)
def _fresh_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(secrets, "_known", set())


def test_registered_secret_is_masked_everywhere() -> None:
    register_secret("rw-plain-secret-42")
    text = "key=rw-plain-secret-42, again rw-plain-secret-42."
    assert redact(text) == f"key={MASK}, again {MASK}."


def test_longest_secret_masked_first() -> None:
    register_secret("abcd1234")
    register_secret("abcd1234efgh5678")
    assert redact("x abcd1234efgh5678 y abcd1234") == f"x {MASK} y {MASK}"


def test_short_or_empty_secrets_are_not_registered() -> None:
    register_secret(None)
    register_secret("")
    register_secret("abc")
    assert secrets._known == set()
    assert redact("abc and a") == "abc and a"


def test_openrouter_shaped_keys_are_masked_without_registration() -> None:
    assert redact(f"using {OPENROUTER_KEY} now") == f"using {MASK} now"


@pytest.mark.parametrize("prefix", ["Bearer ", "bearer ", "BEARER  "])
def test_bearer_tokens_are_masked(prefix: str) -> None:
    token = "Ab3.xyz_-0123456789"
    assert redact(f"Authorization: {prefix}{token}") == f"Authorization: {prefix}{MASK}"


def test_bearer_with_openrouter_key() -> None:
    masked = redact(f'{{"Authorization": "Bearer {OPENROUTER_KEY}"}}')
    assert OPENROUTER_KEY not in masked
    assert "0123456789abcdef" not in masked
    assert masked.startswith('{"Authorization": "Bearer ')


def test_ordinary_text_untouched() -> None:
    text = "The golden bird flew over the bearer of news; sk-or is a prefix."
    assert redact(text) == text


def test_redacting_filter_masks_log_records(caplog: pytest.LogCaptureFixture) -> None:
    register_secret("runware-secret-0123456789")
    logger = logging.getLogger("storyframe.test_secrets")
    filt = RedactingFilter()
    logger.addFilter(filt)
    try:
        with caplog.at_level(logging.INFO, logger=logger.name):
            logger.info("key is %s", "runware-secret-0123456789")
            logger.info("header Bearer %s", OPENROUTER_KEY)
            logger.info("nothing secret %d", 42)
    finally:
        logger.removeFilter(filt)
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        f"key is {MASK}",
        f"header Bearer {MASK}",
        "nothing secret 42",
    ]
    assert "runware-secret" not in caplog.text
    assert OPENROUTER_KEY not in caplog.text
    # Records without secrets keep their arguments for structured handlers.
    assert caplog.records[2].args == (42,)


def test_redacting_filter_on_handler(caplog: pytest.LogCaptureFixture) -> None:
    caplog.handler.addFilter(RedactingFilter())
    with caplog.at_level(logging.WARNING, logger="storyframe.test_secrets"):
        logging.getLogger("storyframe.test_secrets").warning("oops %s", OPENROUTER_KEY)
    assert OPENROUTER_KEY not in caplog.text
    assert MASK in caplog.text


def test_provider_error_str_and_repr_redacted() -> None:
    register_secret("runware-secret-0123456789")
    error = AuthError(
        f"bad key runware-secret-0123456789 / Bearer {OPENROUTER_KEY}",
        provider="runware",
        status=401,
        code="invalidApiKey",
        hint="Check runware-secret-0123456789",
    )
    for text in (str(error), repr(error), error.one_line(), error.message, *error.args):
        assert "runware-secret" not in text
        assert OPENROUTER_KEY not in text
    assert repr(error) == (
        f"AuthError('bad key {MASK} / Bearer {MASK}', provider='runware', status=401, "
        "code='invalidApiKey')"
    )
    assert error.one_line() == f"bad key {MASK} / Bearer {MASK} Check {MASK}"


def test_other_errors_redacted_too() -> None:
    for error in (
        Transient(f"reset {OPENROUTER_KEY}", retry_after=1.0),
        ProviderError(f"x {OPENROUTER_KEY}"),
        ConfigError(f"x {OPENROUTER_KEY}", hint=f"y {OPENROUTER_KEY}"),
    ):
        assert OPENROUTER_KEY not in str(error)
        assert OPENROUTER_KEY not in repr(error)
        assert OPENROUTER_KEY not in error.one_line()


def test_secret_registered_after_error_is_not_retroactive() -> None:
    # Errors are redacted when built: register keys before any work starts.
    error = ProviderError("late-secret-0123456789")
    register_secret("late-secret-0123456789")
    assert "late-secret" in str(error)

"""The ``[providers.runware]`` config section."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, field_validator, model_validator

from storyframe.providers import BaseURL, ProviderConfig

DEFAULT_MODEL = "runware:101@1"
"""FLUX.1 [dev]: good prompt adherence at a low price per image (docs/providers/runware.md)."""

OutputFormat = Literal["JPG", "PNG", "WEBP"]
ReferenceMode = Literal["auto", "referenceImages", "ipAdapters", "off"]

EDIT_MODELS: dict[str, int] = {
    "runware:106@1": 2,  # FLUX.1 Kontext [dev]
    "bfl:3@1": 2,  # FLUX.1 Kontext [pro]
    "bfl:4@1": 2,  # FLUX.1 Kontext [max]
    "runware:102@1": 1,  # FLUX Fill with ACE++ (the task needs an acePlusPlus object)
    "runware:108@20": 1,  # Qwen-Image-Edit
}
"""Models known to take ``referenceImages``, with the most each takes; others take none."""

_AIR = r"^[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+@[A-Za-z0-9_.-]+$"


class RunwareConfig(ProviderConfig):
    """Settings of the Runware provider; every key has a default."""

    model: str = Field(
        default=DEFAULT_MODEL,
        pattern=_AIR,
        description="The model's AIR id (source:id@version).",
    )
    base_url: BaseURL = Field(
        default="https://api.runware.ai/v1", description="The REST endpoint tasks are POSTed to."
    )
    width: int | None = Field(
        default=None, ge=128, le=2048, description="Image width (default: the request's)."
    )
    height: int | None = Field(
        default=None, ge=128, le=2048, description="Image height (default: the request's)."
    )
    steps: int | None = Field(
        default=None, ge=1, le=100, description="Inference steps (default: the model's)."
    )
    cfg_scale: float | None = Field(
        default=None, ge=0, le=50, description="CFGScale (default: the style's, else the model's)."
    )
    scheduler: str | None = Field(default=None, description="Scheduler (default: the model's).")
    output_format: OutputFormat = Field(default="JPG", description="JPG, PNG or WEBP.")
    delivery: Literal["sync", "async"] = Field(
        default="async",
        description=(
            "async: ACK, then getResponse polling; every submission can be recovered after a "
            "crash. sync: one POST returns the image; only finished tasks can be recovered."
        ),
    )
    poll_interval: float = Field(
        default=1.0, gt=0, description="First poll delay while task times are unknown, seconds."
    )
    poll_max_interval: float = Field(default=10.0, gt=0, description="Longest poll delay.")
    poll_timeout: float = Field(
        default=300.0, gt=0, description="Seconds to wait for one task by polling."
    )
    batch_size: int = Field(default=4, ge=1, le=16, description="Tasks sent in one request.")
    check_content: bool = Field(
        default=True, description="Ask Runware's safety check; a flagged image is rejected."
    )
    negative_prompt: bool = Field(
        default=True, description="Send the style's negative prompt (some models ignore it)."
    )
    download: bool = Field(
        default=True, description="Fetch and verify the image (else return its URL only)."
    )
    allowed_download_hosts: list[str] = Field(
        default_factory=lambda: ["im.runware.ai"],
        description="Hosts images may be downloaded from.",
    )
    max_download_bytes: int = Field(
        default=32 * 1024 * 1024, ge=1024, description="Largest image accepted, in bytes."
    )

    references: ReferenceMode = Field(
        default="auto",
        description=(
            "How character reference sheets are sent: referenceImages (edit models such as "
            "FLUX.1 Kontext), ipAdapters (one IP-Adapter per sheet, needs ip_adapter_model), "
            "off, or auto (referenceImages on a known edit model, else ipAdapters when "
            "ip_adapter_model is set, else referenceImages when max_references is set, else "
            "off)."
        ),
    )
    max_references: int | None = Field(
        default=None,
        ge=0,
        le=16,
        description=(
            "The most sheets one image may carry (default: the model's known limit, e.g. 2 for "
            "FLUX.1 Kontext, 1 for Qwen-Image-Edit; 1 with ipAdapters)."
        ),
    )
    ip_adapter_model: str | None = Field(
        default=None,
        pattern=_AIR,
        description="The IP-Adapter's AIR id for ipAdapters (e.g. runware:55@1 for SDXL).",
    )
    ip_adapter_weight: float = Field(
        default=1.0, ge=0, le=1, description="Each IP-Adapter's weight (0-1)."
    )

    @model_validator(mode="after")
    def _reference_settings(self) -> Self:
        if self.references == "ipAdapters" and not self.ip_adapter_model:
            raise ValueError("references = 'ipAdapters' needs ip_adapter_model (an AIR id)")
        if (
            self.references == "referenceImages"
            and self.model not in EDIT_MODELS
            and self.max_references is None
        ):
            raise ValueError(
                f"model {self.model} is not a known edit model: set max_references to the "
                "number of referenceImages it takes"
            )
        return self

    @field_validator("output_format", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("allowed_download_hosts")
    @classmethod
    def _hosts(cls, value: list[str]) -> list[str]:
        hosts = [host.strip().lower() for host in value if host.strip()]
        for host in hosts:
            if "/" in host or ":" in host:
                raise ValueError(f"{host!r} is not a bare host name")
        return hosts

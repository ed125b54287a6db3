"""Reference-sheet checks: a provider sends the character sheets it is given, up to its max.

storyframe puts the sheets of the characters in a scene into ``ImageRequest.references``, most
important first, after uploading each once through :meth:`ImageProvider.upload_reference` when
``capabilities.uploads`` is set. A provider sends the first :meth:`ImageProvider.max_references`
of them and names those in ``GeneratedImage.references``. Against a fake service the checks also
read what went over the wire: a sheet counts as sent when a request made while drawing carries
the id ``upload_reference`` returned for it, its bytes in base64 (a data URL, say) or its raw
bytes (a multipart upload).
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from storyframe.models import GeneratedImage, ImageRequest, ReferenceImage
from storyframe.providers import ImageProvider
from storyframe.testing.fake import FakeService
from storyframe.testing.samples import png

SHEET_NAMES = ("Wren", "Tobias Reed", "Martha Lowe", "Pip", "Heron", "Ferry Cat")


def reference_sheets(folder: Path, count: int) -> list[ReferenceImage]:
    """``count`` distinct small PNG sheets written to ``folder``, most important first."""
    folder.mkdir(parents=True, exist_ok=True)
    sheets = []
    for index in range(count):
        name = SHEET_NAMES[index % len(SHEET_NAMES)]
        if index >= len(SHEET_NAMES):
            name = f"{name} {index // len(SHEET_NAMES) + 1}"
        data = png(48 + index, 48, ((37 * index) % 256, 120, (90 + 53 * index) % 256))
        path = folder / f"sheet-{index + 1}.png"
        path.write_bytes(data)
        sheets.append(ReferenceImage(name=name, path=path, sha256=hashlib.sha256(data).hexdigest()))
    return sheets


async def upload_sheets(provider: ImageProvider, sheets: list[ReferenceImage]) -> None:
    """Upload each sheet once, as storyframe does, when the provider keeps uploads."""
    if not type(provider).capabilities.uploads:
        return
    for sheet in sheets:
        uploaded = await provider.upload_reference(sheet)
        assert uploaded is None or (isinstance(uploaded, str) and uploaded), (
            f"upload_reference returned {uploaded!r}; return the service's id or None"
        )
        if uploaded:
            sheet.uploads[provider.name] = uploaded


def _marks(sheet: ReferenceImage, provider: str) -> list[bytes]:
    data = Path(sheet.path).read_bytes()
    marks = [base64.b64encode(data), base64.urlsafe_b64encode(data), data]
    if provider in sheet.uploads:
        marks.insert(0, sheet.uploads[provider].encode())
    return marks


def _position(sheet: ReferenceImage, provider: str, wire: bytes) -> int:
    """Where the sheet first shows in ``wire``, or -1."""
    found = [wire.find(mark) for mark in _marks(sheet, provider)]
    found = [index for index in found if index >= 0]
    return min(found) if found else -1


async def _draw(
    provider: ImageProvider, request: ImageRequest, sheets: list[ReferenceImage]
) -> GeneratedImage:
    try:
        image = await provider.generate(request.model_copy(update={"references": sheets}))
    except Exception as error:
        raise AssertionError(
            f"generate failed with {len(sheets)} reference sheet(s): "
            f"{type(error).__name__}: {error}"
        ) from error
    assert isinstance(image, GeneratedImage), f"generate returned {image!r}"
    return image


async def check_references_sent(
    provider: ImageProvider,
    request: ImageRequest,
    folder: Path,
    service: FakeService | None = None,
) -> None:
    """Given as many sheets as it takes, the provider sends all of them, most important first,
    and names them in order in ``GeneratedImage.references``; a provider that takes none names
    none (and sends none)."""
    most = provider.max_references()
    assert isinstance(most, int) and most >= 0, f"max_references() returned {most!r}"
    sheets = reference_sheets(folder, max(most, 1))
    await upload_sheets(provider, sheets)
    before = len(service.requests) if service is not None else 0
    image = await _draw(provider, request, sheets)
    wanted = [sheet.name for sheet in sheets[:most]]
    assert image.references == wanted, (
        f"GeneratedImage.references is {image.references!r}, expected {wanted!r}: name the "
        "sheets sent, in the order sent (the first max_references() of request.references)"
    )
    if service is None:
        return
    wire = b"\n".join(r.body for r in service.requests[before:])
    positions = [_position(sheet, provider.name, wire) for sheet in sheets[:most]]
    missing = [s.name for s, at in zip(sheets, positions, strict=False) if at < 0]
    assert not missing, (
        f"no request carried the sheet(s) of {', '.join(missing)}: send the upload id, or the "
        "sheet's bytes (base64 or raw)"
    )
    assert positions == sorted(positions), (
        "the sheets went out in another order than given; send them most important first"
    )
    if most == 0:
        assert _position(sheets[0], provider.name, wire) < 0, (
            "max_references() is 0 but a sheet went to the service"
        )


async def check_references_capped(
    provider: ImageProvider,
    request: ImageRequest,
    folder: Path,
    service: FakeService | None = None,
) -> None:
    """Given two sheets more than it takes, the provider sends and names only the first
    ``max_references()``, never the rest."""
    most = provider.max_references()
    sheets = reference_sheets(folder, most + 2)
    await upload_sheets(provider, sheets)
    before = len(service.requests) if service is not None else 0
    image = await _draw(provider, request, sheets)
    wanted = [sheet.name for sheet in sheets[:most]]
    assert image.references == wanted, (
        f"given {len(sheets)} sheets with max_references() {most}, GeneratedImage.references is "
        f"{image.references!r}, expected {wanted!r}"
    )
    if service is None:
        return
    wire = b"\n".join(r.body for r in service.requests[before:])
    extra = [s.name for s in sheets[most:] if _position(s, provider.name, wire) >= 0]
    assert not extra, (
        f"sent the sheet(s) of {', '.join(extra)} beyond max_references() {most}; send only "
        "the first max_references() of request.references"
    )


__all__ = [
    "check_references_capped",
    "check_references_sent",
    "reference_sheets",
    "upload_sheets",
]

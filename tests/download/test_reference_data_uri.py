"""``reference_data_uri``: a reference sheet's file as a data URI, for providers that send
sheets inline."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from storyframe.download import reference_data_uri
from storyframe.errors import InvalidRequest
from storyframe.models import ReferenceImage
from storyframe.testing import png


def sheet(tmp_path: Path, data: bytes) -> ReferenceImage:
    path = tmp_path / "character-mara.png"
    path.write_bytes(data)
    return ReferenceImage(name="Mara", path=path)


def test_a_png_sheet_becomes_a_png_data_uri(tmp_path: Path) -> None:
    data = png(8, 8)
    uri = reference_data_uri(sheet(tmp_path, data), provider="p")
    assert uri == "data:image/png;base64," + base64.b64encode(data).decode()


def test_gif_only_where_the_service_takes_it(tmp_path: Path) -> None:
    gif = sheet(tmp_path, b"GIF89a" + b"\0" * 20)
    with pytest.raises(InvalidRequest, match=r"Mara .* is not a PNG, JPEG or WEBP image"):
        reference_data_uri(gif, provider="p")
    formats = {"image/png", "image/gif"}
    assert reference_data_uri(gif, provider="p", formats=formats).startswith("data:image/gif;")


def test_a_missing_sheet_is_one_line_with_what_to_do(tmp_path: Path) -> None:
    missing = ReferenceImage(name="Tobin", path=tmp_path / "gone.png")
    with pytest.raises(InvalidRequest) as caught:
        reference_data_uri(missing, provider="p")
    assert "cannot read the reference sheet of Tobin" in str(caught.value)
    assert caught.value.hint == "Draw the character sheets again."

"""A comic-book archive: ``001.jpg``... in scene order, and a ``ComicInfo.xml``."""

from __future__ import annotations

import io
import zipfile
from xml.etree import ElementTree

from storyframe.export import Page, Pages, open_image

COMIC_INFO = "ComicInfo.xml"


def page_name(index: int) -> str:
    """``001.jpg`` for the first page."""
    return f"{index + 1:03d}.jpg"


def comic_info(pages: Pages, sizes: list[tuple[int, int, int]]) -> bytes:
    """ComicInfo.xml (schema 2.0): Title, Summary, PageCount and one Page per scene.

    ``sizes`` holds (width, height, bytes) of each page image, in order.
    """
    root = ElementTree.Element("ComicInfo")
    ElementTree.SubElement(root, "Title").text = pages.title
    ElementTree.SubElement(root, "Summary").text = " / ".join(
        f"{p.number}. {p.title}" for p in pages.pages
    )
    ElementTree.SubElement(root, "Notes").text = "Made with storyframe"
    ElementTree.SubElement(root, "PageCount").text = str(len(pages.pages))
    listing = ElementTree.SubElement(root, "Pages")
    for index, (page, (width, height, size)) in enumerate(zip(pages.pages, sizes, strict=True)):
        attributes = {
            "Image": str(index),
            "ImageSize": str(size),
            "Bookmark": _bookmark(page),
            "ImageWidth": str(width),
            "ImageHeight": str(height),
        }
        if index == 0:
            attributes["Type"] = "FrontCover"
        ElementTree.SubElement(listing, "Page", attributes)
    ElementTree.indent(root)
    data: bytes = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
    return data + b"\n"


def _bookmark(page: Page) -> str:
    text = f"Scene {page.number}: {page.title}"
    return f"{text} ({page.status})" if page.status else text


def build(pages: Pages) -> bytes:
    """The ``.cbz`` bytes."""
    buffer = io.BytesIO()
    sizes: list[tuple[int, int, int]] = []
    with zipfile.ZipFile(buffer, "w") as archive:
        for index, page in enumerate(pages.pages):
            image = open_image(page, pages.width, pages.height)
            data = io.BytesIO()
            image.save(data, "JPEG", quality=90, optimize=True)
            archive.writestr(page_name(index), data.getvalue(), zipfile.ZIP_STORED)
            sizes.append((image.width, image.height, len(data.getvalue())))
        archive.writestr(COMIC_INFO, comic_info(pages, sizes), zipfile.ZIP_DEFLATED)
    return buffer.getvalue()

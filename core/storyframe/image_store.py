"""Storing drawn images in the project, for :class:`~storyframe.drawing.SceneDrawer`.

A verified download is renamed into place; bytes are checked and written. Nothing is decoded or
read on the event loop: bytes are checked and written in a worker thread, and so is a download
that must be compared with earlier variants. A download with nothing to compare with is a rename,
done on the loop (a trip to a thread would cost more than the rename). A new variant equal byte
for byte to an earlier one is that earlier one.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from storyframe import takes
from storyframe.chains import guarded
from storyframe.errors import BadResponse
from storyframe.images import inspect_image
from storyframe.models import GeneratedImage, ImageFile, SceneRecord

if TYPE_CHECKING:
    from storyframe.project import Project
    from storyframe.providers import ImageProvider


class ImageStore:
    """Mixin of the drawers: puts an image into the project under the drawer's ``_image_key``."""

    project: Project
    candidates: set[int]
    _slots: dict[int, int]
    """The variant slot each scene's new image is stored in (read by ``_keep_variant``)."""

    if TYPE_CHECKING:

        def _target(self, number: int) -> Any: ...
        def _label(self, number: int) -> str: ...
        def _image_key(self, number: int) -> int | str: ...

    async def _store(
        self, provider: ImageProvider | None, number: int, image: GeneratedImage
    ) -> ImageFile:
        """Put the image into the project: a verified download is renamed into place; bytes
        are checked and written in a worker thread. Nothing is decoded or read on the event
        loop."""
        target = self._target(number)
        record = target if isinstance(target, SceneRecord) else None  # sheets have no variants
        slot = 1
        if record is not None:
            replace_broken = number not in self.candidates
            if replace_broken and record.image is not None:  # reads the chosen image: a thread
                slot = await asyncio.to_thread(
                    takes.variant_slot, record, self.project, replace_broken=True
                )
            else:  # no file to read
                slot = takes.variant_slot(record, self.project, replace_broken=replace_broken)
            self._slots[number] = slot
        if image.data is None and image.path is None:
            if provider is None:
                raise BadResponse("the image has no data and no provider to fetch it")
            image = await guarded(
                provider, f"downloading {self._label(number)}", lambda: provider.fetch(image)
            )
        if image.path is not None and image.sha256 and image.width and image.height:
            path, size = image.path, image.file_size
            sha256, width, height = image.sha256, image.width, image.height

            def adopt() -> ImageFile:
                stored = self.project.adopt_image(
                    self._image_key(number),
                    path,
                    media_type=image.media_type,
                    width=width,
                    height=height,
                    sha256=sha256,
                    size=size or path.stat().st_size,
                    variant=slot,
                )
                return stored if record is None else self._same_as_before(record, stored)

            if record is None or not record.variants:  # nothing to compare with: a rename
                return adopt()
            return await asyncio.to_thread(adopt)  # one trip to a thread: rename and compare
        data = image.data
        if data is None:
            raise BadResponse("the provider returned no image data", provider=image.provider)

        def store() -> ImageFile:
            stored = self._store_bytes(number, data, slot)
            return stored if record is None else self._same_as_before(record, stored)

        return await asyncio.to_thread(store)

    def _same_as_before(self, record: SceneRecord, stored: ImageFile) -> ImageFile:
        """A new variant byte for byte equal to an earlier one is that one: its file goes."""
        number = record.scene.number
        if self._slots.get(number, 0) <= len(record.variants):
            return stored  # drawn in place of a damaged image: it is that variant
        earlier = takes.earlier_copy(record, stored, self.project)
        if earlier is None:
            return stored
        self.project.discard_image(stored)
        self._slots[number] = earlier
        return record.variants[earlier - 1].image

    def _store_bytes(self, number: int, data: bytes, variant: int = 1) -> ImageFile:
        media_type, width, height = inspect_image(data)
        return self.project.store_image(
            self._image_key(number), data, media_type, width, height, variant
        )


__all__ = ["ImageStore"]

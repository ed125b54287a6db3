"""The conformance kit's inputs and the small helpers its checks share."""

from __future__ import annotations

import io
import re
import struct
import zlib
from urllib.parse import urlsplit

from storyframe.models import Style

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
"""What a provider ``name`` must look like (the plugin host enforces the same rule)."""

FAKE_SECRET = "sk-conformance-0123456789abcdef"
"""A made-up API key; the suite checks it never shows up in a provider's repr."""

IMAGE_MAGIC: dict[str, tuple[bytes, ...]] = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/webp": (b"RIFF",),
}

CONFORMANCE_STYLE = Style(
    name="conformance",
    description="A neutral style used by the conformance suite.",
    prompt_suffix="storybook illustration, soft light",
    negative_prompt="text, watermark",
    palette=["#1f2933", "#f5f0e6", "#b5651d", "#4a6fa5", "#7a9e7e"],
    width=512,
    height=384,
)
"""The style passed to providers by the suite."""

SAMPLE_STORY = """\
The Lantern of Hollow Ford

In the village of Hollow Ford, where the river bent twice before it reached the sea, there lived \
a ferryman named Tobias Reed. He was a tall, stooped old man with a white beard, a patched blue \
coat and a lantern that never seemed to go out. Every night he carried travellers across the \
dark water, and every night he hung his lantern from the bow of his boat. The villagers said \
the lantern had been lit by his grandmother and had burned for sixty years.

One autumn evening a girl named Wren came running down the muddy lane to the landing. She was \
eleven years old, small and quick, with red hair in two braids and a green wool scarf wound \
twice around her neck. Her little brother had wandered into the reeds on the far bank, she \
cried, and the fog was rising fast. Tobias untied the boat without a word and helped her aboard.

The fog rolled over the river like grey wool. Soon they could not see the willows on either \
shore, and the only light in the world was the small gold flame of the lantern. Wren held the \
lantern high while Tobias pulled at the oars. Somewhere in the dark a heron called, and the \
water lapped against the hull.

Halfway across, the current turned the boat around. Tobias stopped rowing and listened. \
Through the fog came a thin voice singing a counting song, the kind children sing to keep \
themselves brave. "That is Pip," Wren whispered. "He always sings when he is frightened."

They followed the song toward the reeds. The boat scraped over a sandbar, and Tobias climbed \
out into water up to his knees. He pushed the boat through the reeds while Wren called her \
brother's name. At last the lantern light fell on a small boy in a yellow raincoat, sitting on \
an overturned basket with a muddy puppy in his arms.

Pip had followed the puppy into the marsh and lost his way. He was cold and his boots were \
full of water, but he had not stopped singing. Wren wrapped her green scarf around him and \
lifted the puppy into the boat. Tobias laughed for the first time that evening and said the \
puppy looked like a drowned mop.

The way home was harder. The fog had thickened, and a wind began to blow from the sea. A gust \
caught the lantern and the flame shrank to a blue bead. Tobias cupped his hands around the \
glass and told the children an old story while he waited for the flame to recover. In the \
story, the lantern had once guided a whole fleet of fishing boats home through a storm.

When the flame rose again, Wren saw lights moving on the shore. The villagers of Hollow Ford \
had come down to the landing with torches and lamps, because they had seen the ferry leave \
and not return. The baker, Martha Lowe, a broad woman in a flour-dusted apron, was standing at \
the very edge of the water. She rang the old bronze bell from the church to guide them in.

Tobias rowed toward the sound of the bell. The boat bumped against the landing, and a dozen \
hands reached down to pull the children up. Martha wrapped Pip in a blanket and carried him \
straight to her bakery, where the ovens were still warm. The puppy followed at her heels, \
shaking river water over everyone.

That night the whole village gathered in the bakery. They drank hot cider and ate bread still \
warm from the oven while Pip told the story of the marsh three times, each time a little \
braver. Wren sat beside the old ferryman and watched the lantern glowing on the table.

In the spring, Tobias began teaching Wren to row. She learned to read the current, to listen \
for the heron, and to keep the lantern trimmed. Years later, when the old man could no longer \
pull the oars, it was Wren who carried the travellers across the river at night. The lantern \
still hangs from the bow of her boat, and the people of Hollow Ford say it has never gone out.
"""
"""A story of about forty sentences (written for this suite) with named characters and places."""

SHORT_STORY = "A fox found a bell in the snow. He rang it once. Nobody came, so he went home."
"""A story too short for many scenes; providers may return fewer scenes than asked for."""


def assert_identifier(name: object, what: str) -> None:
    assert isinstance(name, str) and NAME_PATTERN.match(name), (
        f"{what} must be a lowercase identifier matching {NAME_PATTERN.pattern}, not {name!r}"
    )


def assert_image_data(data: bytes, media_type: str) -> None:
    kind = image_kind(data)
    assert kind is not None, f"image data is not PNG, JPEG or WEBP (starts {data[:12]!r})"
    assert media_type == kind, f"media_type is {media_type!r} but the data is {kind}"


def assert_url(url: str) -> None:
    parts = urlsplit(url)
    assert parts.scheme in ("http", "https") and parts.netloc, f"{url!r} is not an http(s) URL"


def image_kind(data: bytes) -> str | None:
    """The media type ``data`` starts like (PNG, JPEG or WEBP), or ``None``."""
    for media, magics in IMAGE_MAGIC.items():
        if any(data.startswith(magic) for magic in magics):
            if media == "image/webp" and data[8:12] != b"WEBP":
                return None
            return media
    return None


def image_size(data: bytes) -> tuple[int, int] | None:
    """The pixel size of PNG, JPEG or WEBP bytes, or ``None`` if it cannot be read."""
    if image_kind(data) == "image/png" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except Exception:
        return None


def png(width: int, height: int, rgb: tuple[int, int, int] = (90, 120, 160)) -> bytes:
    """A valid one-colour PNG of the given size (for fake services' answers)."""
    row = b"\0" + bytes(rgb) * width
    raw = zlib.compress(row * height)

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")

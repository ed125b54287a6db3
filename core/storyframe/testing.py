"""A conformance suite any plugin package can run against its own providers.

Subclass :class:`TextProviderConformance` or :class:`ImageProviderConformance` in a test module
(the subclass name must start with ``Test`` so pytest collects it) and say how to build the
provider, either with a class attribute::

    from storyframe.testing import ImageProviderConformance
    from storyframe_mosaic.provider import MosaicImageProvider

    class TestMosaicConformance(ImageProviderConformance):
        provider_class = MosaicImageProvider

or, when the provider needs a config, a key or a test server, by overriding the
``provider_factory`` fixture; it returns a zero-argument callable that builds a fresh provider
(it is called inside the running event loop)::

    class TestMyServiceConformance(TextProviderConformance):
        @pytest.fixture
        def provider_factory(self, fake_server):
            config = MyConfig(base_url=fake_server.url)
            return lambda: MyTextProvider(config, SecretStr("test-key"))

Every test is an ``async def`` marked ``@pytest.mark.asyncio`` explicitly, so the suite runs
under pytest-asyncio's strict and auto modes alike. The inputs (:data:`SAMPLE_STORY`,
:data:`CONFORMANCE_STYLE`, the image request) are methods and attributes a subclass may
override, for example to match what a recorded cassette expects.

Importing this module imports pytest: import it from tests only.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import ClassVar
from urllib.parse import urlsplit

import pytest
from pydantic import SecretStr, ValidationError

from storyframe.models import GeneratedImage, ImageRequest, Scene, StoryAnalysis, Style, Usage
from storyframe.providers import (
    Capabilities,
    CheckResult,
    ImageProvider,
    Provider,
    ProviderConfig,
    ProviderKind,
    TextProvider,
)

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

ProviderFactory = Callable[[], Provider]


def _assert_identifier(name: object, what: str) -> None:
    assert isinstance(name, str) and NAME_PATTERN.match(name), (
        f"{what} must be a lowercase identifier matching {NAME_PATTERN.pattern}, not {name!r}"
    )


def _assert_image_data(data: bytes, media_type: str) -> None:
    kind = next(
        (
            media
            for media, magics in IMAGE_MAGIC.items()
            if any(data.startswith(magic) for magic in magics)
        ),
        None,
    )
    if kind == "image/webp" and data[8:12] != b"WEBP":
        kind = None
    assert kind is not None, f"image data is not PNG, JPEG or WEBP (starts {data[:12]!r})"
    assert media_type == kind, f"media_type is {media_type!r} but the data is {kind}"


def _assert_url(url: str) -> None:
    parts = urlsplit(url)
    assert parts.scheme in ("http", "https") and parts.netloc, f"{url!r} is not an http(s) URL"


class _ProviderConformance:
    """Checks every provider must pass, text or image."""

    kind: ClassVar[ProviderKind]
    base: ClassVar[type[Provider]]
    provider_class: ClassVar[type[Provider] | None] = None
    """The provider under test, built with its default config and no key."""

    @pytest.fixture
    def provider_factory(self) -> ProviderFactory:
        """A zero-argument callable that builds a fresh provider; override it as needed."""
        cls = self.provider_class
        if cls is None:
            pytest.fail(
                f"{type(self).__name__}: set provider_class or override the "
                "provider_factory fixture"
            )
        return cls

    def build(self, factory: ProviderFactory) -> Provider:
        """Build a provider with ``factory`` and check it is of the suite's kind."""
        provider = factory()
        assert isinstance(provider, self.base), (
            f"provider_factory returned {provider!r}, not a {self.base.__name__}"
        )
        return provider

    async def provider_type(self, factory: ProviderFactory) -> type[Provider]:
        """The class of the providers ``factory`` builds."""
        provider = self.build(factory)
        await provider.aclose()
        return type(provider)

    @pytest.mark.asyncio
    async def test_identity(self, provider_factory: ProviderFactory) -> None:
        """``name`` is a lowercase identifier, ``kind`` matches the base class."""
        cls = await self.provider_type(provider_factory)
        _assert_identifier(getattr(cls, "name", None), f"{cls.__name__}.name")
        assert cls.kind == self.kind, f"{cls.__name__}.kind is {cls.kind!r}, not {self.kind!r}"
        assert isinstance(cls.description, str), "description must be a str"

    @pytest.mark.asyncio
    async def test_key_declaration(self, provider_factory: ProviderFactory) -> None:
        """A provider that needs a key names the environment variable that holds it."""
        cls = await self.provider_type(provider_factory)
        if cls.needs_key:
            assert isinstance(cls.key_env, str) and re.fullmatch(r"[A-Z][A-Z0-9_]*", cls.key_env), (
                f"{cls.__name__} needs a key, so key_env must name an upper-case variable"
            )
        else:
            assert cls.key_env is None or isinstance(cls.key_env, str)

    @pytest.mark.asyncio
    async def test_config_model_defaults(self, provider_factory: ProviderFactory) -> None:
        """``config_model`` subclasses ProviderConfig and every field has a valid default."""
        cls = await self.provider_type(provider_factory)
        model = cls.config_model
        assert isinstance(model, type) and issubclass(model, ProviderConfig), (
            f"{cls.__name__}.config_model must be a ProviderConfig subclass"
        )
        try:
            defaults = model.model_validate({})
        except ValidationError as error:
            pytest.fail(f"{model.__name__} does not validate with no keys set: {error}")
        assert model.model_validate(defaults.model_dump()) == defaults, (
            f"{model.__name__}'s defaults do not survive a dump and re-validation"
        )

    @pytest.mark.asyncio
    async def test_config_model_rejects_unknown_keys(
        self, provider_factory: ProviderFactory
    ) -> None:
        """A misspelt key in ``[providers.NAME]`` is an error, not silently ignored."""
        cls = await self.provider_type(provider_factory)
        with pytest.raises(ValidationError):
            cls.config_model.model_validate({"no_such_setting_xyz": 1})

    @pytest.mark.asyncio
    async def test_capabilities(self, provider_factory: ProviderFactory) -> None:
        """``capabilities`` is a Capabilities with a sensible size range."""
        cls = await self.provider_type(provider_factory)
        caps = cls.capabilities
        assert isinstance(caps, Capabilities), f"{cls.__name__}.capabilities is {caps!r}"
        assert 1 <= caps.min_size <= caps.max_size, f"bad size range in {caps!r}"
        assert caps.size_multiple >= 1, f"bad size_multiple in {caps!r}"
        assert isinstance(caps.summary(), str)

    @pytest.mark.asyncio
    async def test_model_name(self, provider_factory: ProviderFactory) -> None:
        """``model_name`` is a str (the manifest records it)."""
        provider = self.build(provider_factory)
        try:
            assert isinstance(provider.model_name, str), "model_name must be a str"
        finally:
            await provider.aclose()

    @pytest.mark.asyncio
    async def test_check(self, provider_factory: ProviderFactory) -> None:
        """``check()`` returns a CheckResult rather than raising."""
        provider = self.build(provider_factory)
        try:
            result = await provider.check()
        except Exception as error:
            pytest.fail(f"check() raised {type(error).__name__}: {error}; it must never raise")
        finally:
            await provider.aclose()
        assert isinstance(result, CheckResult), f"check() returned {result!r}"

    @pytest.mark.asyncio
    async def test_check_without_key(self, provider_factory: ProviderFactory) -> None:
        """Without its key, a provider that needs one reports ``ok=False`` and does not raise."""
        provider = self.build(provider_factory)
        cls = type(provider)
        await provider.aclose()
        if not cls.needs_key:
            pytest.skip(f"{cls.__name__} needs no key")
        keyless = cls(provider.config, None)
        try:
            result = await keyless.check()
        except Exception as error:
            pytest.fail(f"check() without a key raised {type(error).__name__}: {error}")
        finally:
            await keyless.aclose()
        assert isinstance(result, CheckResult), f"check() returned {result!r}"
        assert not result.ok, "check() without a key must not report ok"

    @pytest.mark.asyncio
    async def test_aclose_is_idempotent(self, provider_factory: ProviderFactory) -> None:
        """``aclose()`` may be called any number of times, and the provider is a context manager."""
        provider = self.build(provider_factory)
        await provider.aclose()
        await provider.aclose()
        async with self.build(provider_factory) as entered:
            assert isinstance(entered, self.base), "__aenter__ must return the provider"
        await entered.aclose()

    @pytest.mark.asyncio
    async def test_repr_hides_secret(self, provider_factory: ProviderFactory) -> None:
        """Neither ``repr()`` nor ``str()`` of a provider shows its API key."""
        provider = self.build(provider_factory)
        cls = type(provider)
        await provider.aclose()
        keyed = cls(provider.config, SecretStr(FAKE_SECRET))
        try:
            for text in (repr(keyed), str(keyed), repr(keyed.config)):
                assert FAKE_SECRET not in text, f"the API key shows in {text!r}"
        finally:
            await keyed.aclose()


class ImageProviderConformance(_ProviderConformance):
    """The conformance suite for :class:`~storyframe.providers.ImageProvider` subclasses."""

    kind = "image"
    base = ImageProvider
    provider_class: ClassVar[type[ImageProvider] | None] = None
    prompt: ClassVar[str] = (
        "An old ferryman in a patched blue coat rows a small boat through river fog, "
        "a lantern glowing at the bow"
    )
    """The prompt of the requests the suite sends."""

    def image_request(self, cls: type[Provider], scene_number: int = 1) -> ImageRequest:
        """A request the provider can honour: a small size within its capabilities."""
        caps = cls.capabilities
        size = -(-256 // caps.size_multiple) * caps.size_multiple
        size = min(max(size, caps.min_size), caps.max_size)
        return ImageRequest(
            scene_number=scene_number,
            title=f"Scene {scene_number}",
            prompt=f"{self.prompt}, scene {scene_number}",
            negative_prompt=CONFORMANCE_STYLE.negative_prompt,
            width=size,
            height=size,
            seed=1000 + scene_number,
            style=CONFORMANCE_STYLE,
        )

    def check_image(self, image: object, request: ImageRequest, cls: type[Provider]) -> None:
        """Assert ``image`` is a well-formed answer to ``request``."""
        assert isinstance(image, GeneratedImage), f"expected a GeneratedImage, got {image!r}"
        assert image.scene_number == request.scene_number, (
            f"scene_number is {image.scene_number}, the request's is {request.scene_number}"
        )
        assert image.provider == cls.name, (
            f"provider is {image.provider!r}, not the provider's name {cls.name!r}"
        )
        assert image.data is not None or image.url is not None, "neither data nor url is set"
        if image.data is not None:
            _assert_image_data(image.data, image.media_type)
        else:
            assert image.url is not None
            _assert_url(image.url)

    @pytest.mark.asyncio
    async def test_generate(self, provider_factory: ProviderFactory) -> None:
        """``generate`` answers one request with image bytes or an http(s) URL."""
        provider = self.build(provider_factory)
        assert isinstance(provider, ImageProvider)
        request = self.image_request(type(provider), scene_number=3)
        try:
            image = await provider.generate(request)
        finally:
            await provider.aclose()
        self.check_image(image, request, type(provider))

    @pytest.mark.asyncio
    async def test_generate_many(self, provider_factory: ProviderFactory) -> None:
        """``generate_many`` returns one result per request, in the requests' order."""
        provider = self.build(provider_factory)
        assert isinstance(provider, ImageProvider)
        cls = type(provider)
        requests = [self.image_request(cls, scene_number=n) for n in (4, 1, 2)]
        try:
            results = await provider.generate_many(requests)
        finally:
            await provider.aclose()
        assert isinstance(results, list), f"generate_many returned {type(results).__name__}"
        assert len(results) == len(requests), f"{len(results)} results for {len(requests)} requests"
        for request, result in zip(requests, results, strict=True):
            self.check_image(result, request, cls)

    @pytest.mark.asyncio
    async def test_generate_many_empty(self, provider_factory: ProviderFactory) -> None:
        """``generate_many([])`` returns an empty list without calling the service."""
        provider = self.build(provider_factory)
        assert isinstance(provider, ImageProvider)
        try:
            results = await provider.generate_many([])
        finally:
            await provider.aclose()
        assert results == [], f"generate_many([]) returned {results!r}"


class TextProviderConformance(_ProviderConformance):
    """The conformance suite for :class:`~storyframe.providers.TextProvider` subclasses."""

    kind = "text"
    base = TextProvider
    provider_class: ClassVar[type[TextProvider] | None] = None
    story: ClassVar[str] = SAMPLE_STORY
    """A story long enough for :attr:`scene_count` scenes."""
    short_story: ClassVar[str] = SHORT_STORY
    """A story too short for :attr:`too_many_scenes` scenes."""
    scene_count: ClassVar[int] = 6
    too_many_scenes: ClassVar[int] = 12
    style: ClassVar[Style] = CONFORMANCE_STYLE

    def build_text(self, factory: ProviderFactory) -> TextProvider:
        """Build a text provider with ``factory``."""
        provider = self.build(factory)
        assert isinstance(provider, TextProvider)
        return provider

    def check_scenes(self, scenes: object, n: int, *, exact: bool) -> list[Scene]:
        """Assert ``scenes`` are numbered 1..k (k == n if ``exact``, else 1 <= k <= n)."""
        assert isinstance(scenes, list), f"generate_scenes returned {type(scenes).__name__}"
        assert all(isinstance(scene, Scene) for scene in scenes), "every item must be a Scene"
        if exact:
            assert len(scenes) == n, f"asked for {n} scenes of a long story, got {len(scenes)}"
        else:
            assert 1 <= len(scenes) <= n, f"asked for at most {n} scenes, got {len(scenes)}"
        numbers = [scene.number for scene in scenes]
        assert numbers == list(range(1, len(scenes) + 1)), f"scenes are numbered {numbers}"
        for scene in scenes:
            assert scene.title.strip(), f"scene {scene.number} has an empty title"
            assert scene.image_prompt.strip(), f"scene {scene.number} has an empty image prompt"
            assert isinstance(scene.description, str)
        return scenes

    @pytest.mark.asyncio
    async def test_usage(self, provider_factory: ProviderFactory) -> None:
        """A text provider keeps a :class:`~storyframe.models.Usage` record."""
        provider = self.build_text(provider_factory)
        await provider.aclose()
        assert isinstance(provider.usage, Usage), "usage must be a storyframe.models.Usage"

    @pytest.mark.asyncio
    async def test_analyze(self, provider_factory: ProviderFactory) -> None:
        """``analyze`` returns a StoryAnalysis."""
        provider = self.build_text(provider_factory)
        try:
            analysis = await provider.analyze(self.story)
        finally:
            await provider.aclose()
        assert isinstance(analysis, StoryAnalysis), f"analyze returned {analysis!r}"

    @pytest.mark.asyncio
    async def test_generate_scenes(self, provider_factory: ProviderFactory) -> None:
        """A long enough story yields exactly the scenes asked for, numbered from 1."""
        provider = self.build_text(provider_factory)
        try:
            scenes = await provider.generate_scenes(self.story, self.scene_count, self.style)
        finally:
            await provider.aclose()
        self.check_scenes(scenes, self.scene_count, exact=True)

    @pytest.mark.asyncio
    async def test_generate_scenes_with_analysis(self, provider_factory: ProviderFactory) -> None:
        """``generate_scenes`` accepts the analysis ``analyze`` produced."""
        provider = self.build_text(provider_factory)
        try:
            analysis = await provider.analyze(self.story)
            scenes = await provider.generate_scenes(self.story, 3, self.style, analysis)
        finally:
            await provider.aclose()
        self.check_scenes(scenes, 3, exact=True)

    @pytest.mark.asyncio
    async def test_generate_scenes_short_story(self, provider_factory: ProviderFactory) -> None:
        """A story too short for ``n`` scenes yields at most ``n``, still numbered from 1."""
        provider = self.build_text(provider_factory)
        try:
            scenes = await provider.generate_scenes(
                self.short_story, self.too_many_scenes, self.style
            )
        finally:
            await provider.aclose()
        self.check_scenes(scenes, self.too_many_scenes, exact=False)

    @pytest.mark.asyncio
    async def test_enhance_prompt(self, provider_factory: ProviderFactory) -> None:
        """``enhance_prompt`` returns a non-empty prompt."""
        scene = Scene(
            number=1,
            title="Into the fog",
            description="Tobias rows Wren across the river as fog rises.",
            image_prompt="An old ferryman rows a girl across a foggy river at night",
            characters=["Tobias Reed", "Wren"],
        )
        provider = self.build_text(provider_factory)
        try:
            analysis = await provider.analyze(self.story)
            prompt = await provider.enhance_prompt(scene, analysis, self.style)
        finally:
            await provider.aclose()
        assert isinstance(prompt, str) and prompt.strip(), f"enhance_prompt returned {prompt!r}"


__all__ = [
    "CONFORMANCE_STYLE",
    "FAKE_SECRET",
    "NAME_PATTERN",
    "SAMPLE_STORY",
    "SHORT_STORY",
    "ImageProviderConformance",
    "ProviderFactory",
    "TextProviderConformance",
]

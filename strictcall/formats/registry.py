"""Every known format by name. Adding a family: one module, one line in `_BUILTIN`."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from strictcall.formats.apriel import APRIEL
from strictcall.formats.base import Format
from strictcall.formats.command_r import COMMAND_R7B
from strictcall.formats.deepseek import DEEPSEEK_V3, DEEPSEEK_V31
from strictcall.formats.deepseek_v32 import DEEPSEEK_V32
from strictcall.formats.functionary import FUNCTIONARY_V3_2
from strictcall.formats.functools import FUNCTOOLS
from strictcall.formats.gemma4 import GEMMA4
from strictcall.formats.glm import GLM45, GLM47
from strictcall.formats.granite import GRANITE
from strictcall.formats.granite_fc import GRANITE_20B_FC
from strictcall.formats.harmony import HARMONY
from strictcall.formats.hermes import HERMES
from strictcall.formats.internlm import INTERNLM
from strictcall.formats.kimi import KIMI_K2
from strictcall.formats.kimi_k3 import KIMI_K3
from strictcall.formats.lfm2 import LFM2
from strictcall.formats.llama3 import LLAMA3_JSON
from strictcall.formats.minimax import MINIMAX_M2
from strictcall.formats.mistral import MISTRAL
from strictcall.formats.muse_glimmer import MUSE_GLIMMER
from strictcall.formats.nemotron import NEMOTRON
from strictcall.formats.pythonic import LLAMA4_PYTHONIC, PYTHONIC
from strictcall.formats.qwen3_coder import QWEN3_CODER
from strictcall.formats.seed_oss import SEED_OSS
from strictcall.formats.solar_open import SOLAR_OPEN
from strictcall.formats.step3p5 import STEP3P5

_BUILTIN: tuple[Format, ...] = (
    HERMES,
    MISTRAL,
    LLAMA3_JSON,
    GRANITE,
    GRANITE_20B_FC,
    INTERNLM,
    PYTHONIC,
    LLAMA4_PYTHONIC,
    DEEPSEEK_V3,
    DEEPSEEK_V31,
    QWEN3_CODER,
    HARMONY,
    GLM45,
    GLM47,
    KIMI_K2,
    KIMI_K3,
    MINIMAX_M2,
    DEEPSEEK_V32,
    SEED_OSS,
    STEP3P5,
    NEMOTRON,
    LFM2,
    FUNCTOOLS,
    COMMAND_R7B,
    APRIEL,
    GEMMA4,
    MUSE_GLIMMER,
    FUNCTIONARY_V3_2,
    SOLAR_OPEN,
)

_FORMATS: dict[str, Format] = {}
_ALIASES: dict[str, str] = {}


def register(fmt: Format, *, replace: bool = False) -> Format:
    """Make `fmt` available by its name and aliases (plugins call this too)."""
    if fmt.name in _FORMATS and not replace:
        raise ValueError(f"a format named {fmt.name!r} is already registered")
    _FORMATS[fmt.name] = fmt
    for alias in fmt.aliases:
        _ALIASES[alias] = fmt.name
    return fmt


def get_format(name: str) -> Format:
    """The format called `name` (a vLLM `--tool-call-parser` name or an alias)."""
    key = _ALIASES.get(name, name)
    try:
        return _FORMATS[key]
    except KeyError:
        known = ", ".join(sorted(_FORMATS))
        raise KeyError(f"unknown tool format {name!r}; known formats: {known}") from None


def format_names() -> list[str]:
    return sorted(_FORMATS)


def load_plugin(path: str | Path) -> list[str]:
    """Run a Python file that registers formats with `register` (vLLM's
    `--tool-parser-plugin`); return the names it added."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"tool parser plugin {path} does not exist")
    before = set(_FORMATS)
    spec = importlib.util.spec_from_file_location(f"strictcall_plugin_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise ValueError(f"tool parser plugin {path} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise ValueError(f"tool parser plugin {path} failed: {exc!r}") from exc
    added = sorted(set(_FORMATS) - before)
    if not added:
        raise ValueError(f"tool parser plugin {path} registered no format (call register())")
    return added


for _fmt in _BUILTIN:
    register(_fmt)


def all_formats() -> list[Format]:
    """Every registered format, built-ins first in their order, then plugins'."""
    return list(_FORMATS.values())

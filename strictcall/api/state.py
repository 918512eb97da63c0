"""What the request handlers share: the engine, the model's format, the server's settings."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from strictcall.api.metrics import Metrics
from strictcall.chat.probe import probe
from strictcall.chat.render import template_has_reasoning, template_variables
from strictcall.chat.tokenizer import ModelTokenizer
from strictcall.engines.base import Engine
from strictcall.formats import Format, get_format
from strictcall.formats.detect import choose_syntax, detect_format
from strictcall.formats.rendering import Rendering
from strictcall.formats.syntax import Reasoning
from strictcall.grammar.schema import SchemaLimits

if TYPE_CHECKING:
    from strictcall.api.responses.store import ResponseStore
    from strictcall.tools.hub import ToolHub

log = logging.getLogger(__name__)


@dataclass
class ServerConfig:
    served_model_name: str | None = None
    tool_format: str = "auto"
    api_key: str | None = None
    exclude_tools_when_tool_choice_none: bool = False
    reasoning_effort: str | None = None  # the default when a request names none
    schema_limits: SchemaLimits = field(default_factory=SchemaLimits)
    # bad-input limits (docs/reliability.md); each refusal is a 4xx naming the field
    max_request_bytes: int = 4 * 1024 * 1024
    max_tools: int = 512
    max_messages: int = 4096
    # False (`--constrain off`): tool calls are parsed from unconstrained output and returned
    # as read, valid or not, as a server without the grammar would; for measuring the grammar
    constrain: bool = True
    api_docs: bool = True  # /docs, /redoc and /openapi.json (off: --disable-fastapi-docs)


@dataclass
class AppState:
    config: ServerConfig
    engine: Engine  # the embedded engine by default
    tokenizer: ModelTokenizer
    fmt: Format | None
    reasoning: Reasoning | None  # reasoning markers the model's template uses
    model_names: tuple[str, ...]
    hidden_token_ids: frozenset[int]
    # why no format serves tools, when none does (the 400 for a request with tools says it)
    format_note: str = ""
    rendering: Rendering | None = None  # what the template renders for probe conversations
    tools: ToolHub | None = None  # server-side tools (--tool-server)
    store: ResponseStore | None = None  # stored responses (--store)
    metrics: Metrics = field(default_factory=Metrics)

    @property
    def fmt_renders(self) -> bool:
        """The format renders prompts itself (Harmony), not with the chat template."""
        return self.fmt is not None and self.fmt.renderer is not None

    @property
    def served_name(self) -> str:
        return self.model_names[0]


def marker_token_ids(tokenizer: ModelTokenizer, texts: list[str]) -> set[int]:
    """Ids of special tokens that appear in any of `texts` (format markers)."""
    return {i for t, i in tokenizer.special_tokens.items() if any(t and t in x for x in texts)}


def chosen_format(name: str, tokenizer: ModelTokenizer, rendering: Rendering) -> Format:
    """The format `--tool-format` names. Refused (ValueError) when the tokenizer lacks the
    special tokens the family cannot work without; a warning when the chat template points
    to another format (the flag still wins: the user may know better)."""
    fmt = get_format(name)
    missing = [t for t in fmt.required_tokens if t not in tokenizer.special_tokens]
    if missing:
        raise ValueError(
            f"--tool-format {name} needs the special tokens {', '.join(missing)}, which this "
            "tokenizer does not have; choose the model's own format (or --tool-format auto)"
        )
    tokens = set(tokenizer.special_tokens)
    detected = detect_format(tokenizer.chat_template, tokens, rendering)
    if detected is not None and detected.name != fmt.name:
        log.warning(
            "--tool-format %s contradicts the chat template, which points to %s; "
            "the model may not write %s calls",
            fmt.name,
            detected.name,
            fmt.name,
        )
    log.info("tool-call format: %s", fmt.name)
    return choose_syntax(fmt, rendering, tokens)


def make_state(
    config: ServerConfig, engine: Engine, tokenizer: ModelTokenizer, model: str
) -> AppState:
    rendering = probe(tokenizer.chat_template, template_variables(tokenizer))
    note = ""
    if config.tool_format == "auto":
        fmt = detect_format(tokenizer.chat_template, set(tokenizer.special_tokens), rendering)
        if fmt is None:
            why = rendering.note or "no tool-call format reads the calls it renders"
            note = f"the chat template cannot serve tool calls: {why}"
            log.warning(
                "%s; requests with tools will be refused until the server is started with "
                "--tool-format NAME",
                note,
            )
    else:
        fmt = chosen_format(config.tool_format, tokenizer, rendering)
    reasoning = None
    if fmt is not None and template_has_reasoning(tokenizer.chat_template, fmt.reasoning):
        reasoning = fmt.reasoning
    markers: list[str] = fmt.markers() if fmt is not None else []
    if fmt is not None and fmt.renderer is not None:
        log.info(
            "prompts are rendered by strictcall's %s renderer, not the chat template", fmt.renderer
        )
    if reasoning is not None:
        markers += [reasoning.start, reasoning.end]
    hidden = frozenset(tokenizer.control_ids - marker_token_ids(tokenizer, markers))
    names = tuple(dict.fromkeys([config.served_model_name or model, model]))
    state = AppState(config, engine, tokenizer, fmt, reasoning, names, hidden, format_note=note)
    state.rendering = rendering
    return state

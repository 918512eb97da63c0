"""What the request handlers share: the engine, the model's format, the server's settings."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from strictcall.chat.render import template_has_reasoning
from strictcall.chat.tokenizer import ModelTokenizer
from strictcall.formats import Format, get_format
from strictcall.formats.detect import detect_format
from strictcall.formats.syntax import Reasoning
from strictcall.grammar.schema import SchemaLimits

log = logging.getLogger(__name__)


@dataclass
class ServerConfig:
    served_model_name: str | None = None
    tool_format: str = "auto"
    api_key: str | None = None
    exclude_tools_when_tool_choice_none: bool = False
    schema_limits: SchemaLimits = field(default_factory=SchemaLimits)


@dataclass
class AppState:
    config: ServerConfig
    engine: object  # an Engine (embedded by default)
    tokenizer: ModelTokenizer
    fmt: Format | None
    reasoning: Reasoning | None  # reasoning markers the model's template uses
    model_names: tuple[str, ...]
    hidden_token_ids: frozenset[int]

    @property
    def served_name(self) -> str:
        return self.model_names[0]


def marker_token_ids(tokenizer: ModelTokenizer, texts: list[str]) -> set[int]:
    """Ids of special tokens that appear in any of `texts` (format markers)."""
    return {i for t, i in tokenizer.special_tokens.items() if any(t and t in x for x in texts)}


def make_state(config: ServerConfig, engine, tokenizer: ModelTokenizer, model: str) -> AppState:
    if config.tool_format == "auto":
        fmt = detect_format(tokenizer.chat_template, set(tokenizer.special_tokens))
        if fmt is None:
            log.warning(
                "could not tell the tool-call format from the chat template; requests with "
                "tools will be refused until the server is started with --tool-format NAME"
            )
        else:
            log.info("tool-call format: %s (detected from the chat template)", fmt.name)
    else:
        fmt = get_format(config.tool_format)
        log.info("tool-call format: %s", fmt.name)
    reasoning = None
    if fmt is not None and template_has_reasoning(tokenizer.chat_template, fmt.reasoning):
        reasoning = fmt.reasoning
    markers: list[str] = []
    if fmt is not None and fmt.syntax is not None:
        markers += fmt.syntax.markers
    if reasoning is not None:
        markers += [reasoning.start, reasoning.end]
    hidden = frozenset(tokenizer.control_ids - marker_token_ids(tokenizer, markers))
    names = tuple(dict.fromkeys([config.served_model_name or model, model]))
    return AppState(config, engine, tokenizer, fmt, reasoning, names, hidden)

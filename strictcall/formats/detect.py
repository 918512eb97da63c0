"""Which format a model uses, read from its chat template and special tokens.

The template is the best witness: it tells the model how to call tools and renders earlier
calls the way the model writes them. Rules are tried most specific first (Qwen3-Coder and
Granite templates also write `<tool_call>`, DeepSeek V3 and V3.1 share markers). When the
template says nothing about tools, a marker that only one family has in its vocabulary
decides. Rules name formats by name, so formats from other modules (or plugins) need no
import here; a rule whose format is not registered detects nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass

from strictcall.formats.base import Format
from strictcall.formats.registry import get_format

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rule:
    """`format` fits when the text has every marker in `all_of` and one in `any_of`."""

    format: str
    all_of: tuple[str, ...] = ()
    any_of: tuple[str, ...] = ()

    def fits(self, text: str | Collection[str]) -> bool:
        return all(m in text for m in self.all_of) and (
            not self.any_of or any(m in text for m in self.any_of)
        )

    def evidence(self) -> str:
        words = (*self.all_of, " | ".join(self.any_of)) if self.any_of else self.all_of
        return " + ".join(words)


_PYTHONIC = (
    "func_name1(",  # Llama 3.2 pythonic, ToolACE: [func_name1(params_name1=params_value1, ...)]
    "python list of",
    "[func_name(",
)

# Matched against the chat template, first fit wins.
TEMPLATE_RULES: tuple[Rule, ...] = (
    Rule("openai", all_of=("<|channel|>", "<|message|>")),
    Rule("deepseek_v32", all_of=("｜DSML｜",)),
    Rule("deepseek_v3", all_of=("tool▁calls▁begin", "```json")),
    Rule("deepseek_v31", all_of=("tool▁calls▁begin",)),
    Rule("kimi_k2", all_of=("<|tool_calls_section_begin|>",)),
    Rule("minimax_m2", all_of=("<minimax:tool_call>",)),
    Rule("seed_oss", all_of=("<seed:tool_call>",)),
    Rule("glm45", all_of=("<tool_call>", "<arg_key>")),
    Rule("step3p5", all_of=("<function=", "<|im_start|>tool_response")),
    Rule("nemotron_json", all_of=("<TOOLCALL>",)),
    Rule("apriel", all_of=("<tool_calls>", "[BEGIN FINAL RESPONSE]")),
    Rule("command_r7b", all_of=("<|START_ACTION|>",)),
    Rule("lfm2", all_of=("<|tool_call_start|>",)),
    Rule("phi4_mini_json", all_of=("functools[",)),
    Rule("qwen3_coder", all_of=("<tool_call>",), any_of=("<function=", "<parameter=")),
    Rule("granite-20b-fc", any_of=("<function_call>",)),
    Rule("granite", any_of=("<|tool_call|>",)),
    Rule("granite", all_of=("<|start_of_role|>", "<tool_call>")),
    Rule("internlm", all_of=("<|action_start|>", "<|plugin|>")),
    Rule("mistral", any_of=("[TOOL_CALLS]",)),
    Rule("llama4_pythonic", any_of=("<|python_start|>",)),
    Rule("pythonic", any_of=_PYTHONIC),
    Rule("hermes", any_of=("<tool_call>",)),
    Rule(
        "llama3_json",
        all_of=("<|start_header_id|>",),
        any_of=('"parameters"', "<|python_tag|>", "ipython", "JSON for a function call"),
    ),
)

# Matched against the special tokens when no template rule fits (a template that does not
# render tools, from a model whose vocabulary still shows its family).
TOKEN_RULES: tuple[Rule, ...] = (
    Rule("openai", all_of=("<|channel|>", "<|message|>")),
    Rule("deepseek_v31", all_of=("<｜tool▁calls▁begin｜>",)),
    Rule("kimi_k2", all_of=("<|tool_calls_section_begin|>",)),
    Rule("lfm2", all_of=("<|tool_call_start|>", "<|tool_call_end|>")),
    Rule("internlm", all_of=("<|action_start|>", "<|plugin|>")),
    Rule("mistral", all_of=("[TOOL_CALLS]",)),
    Rule("granite", all_of=("<|tool_call|>",)),
    Rule("hermes", all_of=("<tool_call>", "</tool_call>")),
)


# Templates shipped in strictcall/chat/templates for families whose official one cannot
# render tools (or tool history).
SHIPPED_TEMPLATES = {
    "mistral": "mistral",
    "granite-20b-fc": "granite-20b-fc",
    "internlm": "internlm",
}


@dataclass(frozen=True)
class Detection:
    name: str
    reason: str


def detect_name(template: str, special_tokens: Collection[str] = ()) -> Detection | None:
    """The format name the template (else the vocabulary) points to, registered or not."""
    for rule in TEMPLATE_RULES:
        if rule.fits(template):
            return Detection(rule.format, f"the chat template writes {rule.evidence()}")
    tokens = set(special_tokens)
    for rule in TOKEN_RULES:
        if rule.fits(tokens):
            return Detection(rule.format, f"the vocabulary has {rule.evidence()}")
    return None


def detect_format(template: str, special_tokens: Collection[str] | None = None) -> Format | None:
    """The format whose markers the template writes, or None when none fits."""
    found = detect_name(template, special_tokens or ())
    if found is None:
        log.info("no tool-call format fits the chat template or the vocabulary")
        return None
    try:
        fmt = get_format(found.name)
    except KeyError:
        log.warning("detected tool-call format %r (%s); it is not available", *_pair(found))
        return None
    log.info("detected tool-call format %s: %s", fmt.name, found.reason)
    if "tools" not in template:
        shipped = SHIPPED_TEMPLATES.get(fmt.name)
        hint = f"--chat-template {shipped}" if shipped else "--chat-template PATH"
        log.warning(
            "the chat template does not render tools, so the model will not see them; "
            "pass one that does: %s",
            hint,
        )
    return fmt


def _pair(found: Detection) -> tuple[str, str]:
    return found.name, found.reason

"""Which format a model uses, read from what its chat template renders for sample calls.

The template is the best witness: it renders earlier calls the way the model was trained to
write them. chat/probe.py renders the template with probe calls and cuts out what they add;
here every registered format (plugins' too) reads those samples, and the formats whose own
parser reads every probe call back exactly are kept. Among them, the one whose grammar writes
the sample itself (up to whitespace) wins, and a family's syntax variant is chosen the same way
(Mistral's list or `[ARGS]`, Granite's token or tag): the variant that reads, and best writes,
what the template renders.

Substring rules are the last resort, for templates whose calls no declaration reads and none
can be derived from, and for templates that render no calls (Granite 3.3 tells the model its
format only in prose; official InternLM and Mistral templates render no tools, so the
vocabulary tells). Formats with a renderer of their own (Harmony) do not use the template's
rendering of calls and are found by their markers first.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace

from strictcall.formats.base import Format
from strictcall.formats.derive import derive_format
from strictcall.formats.registry import all_formats, get_format
from strictcall.formats.rendering import Rendering, sample_score
from strictcall.formats.syntax import CallSyntax

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
    syntax: CallSyntax | None = None  # the variant the template writes (None: the canonical)
    fmt: Format | None = None  # a format derived from the rendering (formats/derive.py)


@dataclass(frozen=True)
class _Reading:
    """How well one syntax of one format reads the samples: 4 it writes them exactly, 3 up to
    whitespace, 2 it reads them leaving nothing, 1 it reads the calls with other text left
    (an end-of-turn marker the template writes after them)."""

    score: int
    fmt: Format
    syntax: CallSyntax


def readings(rendering: Rendering, formats: Iterable[Format]) -> list[_Reading]:
    """Every (format, syntax) that reads all the samples, best first; of those that read them
    as well, the one whose reasoning markers the template writes, then the canonical syntax,
    then the earlier registered format."""
    found = []
    thinks = rendering.reasoning
    for order, fmt in enumerate(formats):
        if fmt.renderer is not None:
            continue
        for rank, syntax in enumerate(fmt.syntaxes):
            scores = [sample_score(fmt, syntax, s) for s in rendering.samples]
            if scores and min(scores) > 0:
                marks = fmt.reasoning and (fmt.reasoning.start, fmt.reasoning.end)
                agree = marks == thinks if thinks else not marks
                reading = _Reading(min(scores), fmt, syntax)
                found.append((min(scores), agree, -rank, -order, reading))
    found.sort(key=lambda t: t[:4], reverse=True)
    return [r for *_, r in found]


_HOW = {4: "writes", 3: "writes (up to whitespace)", 2: "reads", 1: "reads the calls in"}


def _by_rendering(rendering: Rendering) -> Detection | None:
    found = readings(rendering, all_formats())
    if not found:
        return None
    best = found[0]
    how = _HOW[best.score]
    sample = rendering.samples[0].text
    reason = f"its grammar {how} what the chat template renders for a call: {sample!r}"
    others = sorted({r.fmt.name for r in found[1:] if r.fmt.name != best.fmt.name})
    if others:
        reason += f" (also read by {', '.join(others)})"
    return Detection(best.fmt.name, reason, best.syntax)


def _by_rules(template: str, special_tokens: Collection[str]) -> Detection | None:
    for rule in TEMPLATE_RULES:
        if rule.fits(template):
            return Detection(rule.format, f"the chat template writes {rule.evidence()}")
    tokens = set(special_tokens)
    for rule in TOKEN_RULES:
        if rule.fits(tokens):
            return Detection(rule.format, f"the vocabulary has {rule.evidence()}")
    return None


def detect_name(
    template: str, special_tokens: Collection[str] = (), rendering: Rendering | None = None
) -> Detection | None:
    """The format the template's rendering (else its text, else the vocabulary) points to,
    registered or not. Without `rendering` only the substring rules speak."""
    own = next((r for r in TEMPLATE_RULES[:1] if r.fits(template)), None)  # own renderers
    if own is not None:
        return Detection(own.format, f"the chat template writes {own.evidence()}")
    if rendering is not None and rendering.has_calls:
        found = _by_rendering(rendering)
        if found is not None:
            return found
        derived = derive_format(rendering)
        if derived is not None:
            reason = (
                "no declared format reads what the chat template renders for a call, so one "
                f"was derived from it: {rendering.samples[0].text!r}"
            )
            return Detection(derived.name, reason, fmt=derived)
    found = _by_rules(template, special_tokens)
    if found is not None and rendering is not None:
        why = rendering.note or "no declared format reads the calls it renders"
        found = replace(found, reason=f"{found.reason} ({why}; a substring rule decided)")
    return found


def detect_format(
    template: str,
    special_tokens: Collection[str] | None = None,
    rendering: Rendering | None = None,
) -> Format | None:
    """The format the template writes (its variant chosen), or None when none fits."""
    tokens = special_tokens or ()
    found = detect_name(template, tokens, rendering)
    if found is None:
        log.info("no tool-call format fits the chat template or the vocabulary")
        return None
    if found.fmt is not None:
        log.info("derived tool-call format: %s", found.reason)
        return found.fmt
    try:
        fmt = get_format(found.name)
    except KeyError:
        log.warning("detected tool-call format %r (%s); it is not available", *_pair(found))
        return None
    fmt = with_syntax(fmt, found.syntax or _vocabulary_syntax(fmt, tokens))
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


def choose_syntax(fmt: Format, rendering: Rendering | None, tokens: Collection[str]) -> Format:
    """`fmt` (named by the user) writing the variant the template renders, where one of its
    syntaxes reads it; else the one whose trigger the vocabulary has."""
    if rendering is not None and rendering.has_calls:
        found = readings(rendering, [fmt])
        if found:
            return with_syntax(fmt, found[0].syntax)
    return with_syntax(fmt, _vocabulary_syntax(fmt, tokens))


def _vocabulary_syntax(fmt: Format, tokens: Collection[str]) -> CallSyntax | None:
    """With no rendering to go by: the first syntax whose trigger is one of the model's
    special tokens (Granite 3.0's `<|tool_call|>`), else the canonical one."""
    return next((s for s in fmt.syntaxes if s.trigger and s.trigger in tokens), None)


def with_syntax(fmt: Format, syntax: CallSyntax | None) -> Format:
    """`fmt` whose grammar writes `syntax`; its parser still reads every other one."""
    if syntax is None or syntax == fmt.syntax:
        return fmt
    others = tuple(s for s in fmt.syntaxes if s != syntax and s not in fmt.written)
    return replace(fmt, syntax=syntax, variants=others)


def _pair(found: Detection) -> tuple[str, str]:
    return found.name, found.reason

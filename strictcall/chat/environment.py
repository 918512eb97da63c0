"""The Jinja environment chat templates run in: the one for requests and for probes alike.

It offers what transformers' offers templates (`raise_exception`, `strftime_now`, a `tojson`
that does not escape HTML, `namespace`, loop controls) in a sandbox. Unlike transformers' it
lets a template change the lists and dicts it builds itself (Kimi's templates `append` to a
list to number their calls; an immutable sandbox refuses them any history with calls): the
sandbox still refuses every unsafe attribute, so a template cannot reach outside its data.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache
from typing import Any

import jinja2
import jinja2.ext
import jinja2.nodes
import jinja2.parser
from jinja2.sandbox import SandboxedEnvironment

# Names a message's reasoning goes by: templates read one or another of them.
REASONING_FIELDS = ("reasoning_content", "thinking", "reasoning")


def _raise(message: str) -> None:
    raise jinja2.TemplateError(message)


def _tojson(
    value: Any,
    ensure_ascii: bool = False,
    indent: int | None = None,
    separators: tuple[str, str] | None = None,
    sort_keys: bool = False,
) -> str:
    return json.dumps(
        value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys
    )


def _now(fmt: str) -> str:
    return datetime.now().strftime(fmt)


class _Generation(jinja2.ext.Extension):
    """`{% generation %}...{% endgeneration %}` (transformers marks assistant text so): the
    text, unmarked."""

    tags = {"generation"}  # noqa: RUF012 (jinja reads it so)

    def parse(self, parser: jinja2.parser.Parser) -> jinja2.nodes.Node:
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return jinja2.nodes.Scope(body).set_lineno(lineno)


class _Namespace(jinja2.utils.Namespace):
    """`namespace(...)` without dunder attributes."""

    def __setitem__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            raise jinja2.exceptions.SecurityError(f"a namespace cannot hold {name!r}")
        super().__setitem__(name, value)


@lru_cache(maxsize=32)
def compile_template(source: str) -> jinja2.Template:
    """The compiled template (cached: a server renders the same one for every request)."""
    env = SandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols, _Generation]
    )
    env.filters["tojson"] = _tojson
    env.globals.update(raise_exception=_raise, strftime_now=_now, namespace=_Namespace)
    return env.from_string(source)


def with_reasoning_aliases(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each message's reasoning under every name templates read it by."""
    out = []
    for message in messages:
        value = next((message[k] for k in REASONING_FIELDS if message.get(k) is not None), None)
        if value is not None:
            message = {**message, **dict.fromkeys(REASONING_FIELDS, value)}
        out.append(message)
    return out


def render_template(
    source: str,
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]] | None,
    *,
    add_generation_prompt: bool = True,
    **variables: Any,
) -> str:
    """The template's text for a conversation (raises what the template raises)."""
    template = compile_template(source)
    # what some templates read besides the standard variables (FireFunction: its tools as a
    # JSON string and today's date)
    variables.setdefault("functions", json.dumps([t.get("function", t) for t in tools or ()]))
    variables.setdefault("datetime", datetime.now().strftime("%d %b %Y"))
    return template.render(
        messages=with_reasoning_aliases(messages),
        tools=tools,
        add_generation_prompt=add_generation_prompt,
        **variables,
    )

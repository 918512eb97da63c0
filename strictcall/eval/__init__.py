"""Tool-call accuracy of any OpenAI-compatible server: `strictcall eval bfcl` (docs/eval.md).

A client, not part of the server: it needs the `openai` package (the `eval` extra).
"""

from strictcall.eval.checker import Verdict, check
from strictcall.eval.data import ALL_CATEGORIES, CATEGORIES, load_category
from strictcall.eval.dialect import to_json_schema, to_openai_tool, to_openai_tools
from strictcall.eval.runner import Settings, arun_bfcl, run_bfcl, summarize

__all__ = [
    "ALL_CATEGORIES",
    "CATEGORIES",
    "Settings",
    "Verdict",
    "arun_bfcl",
    "check",
    "load_category",
    "run_bfcl",
    "summarize",
    "to_json_schema",
    "to_openai_tool",
    "to_openai_tools",
]

"""Chat templates shipped with strictcall, and `--chat-template NAME|PATH` resolution.

Kept free of heavy imports: the command line checks the flag before loading a model.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def shipped_templates() -> list[str]:
    """Names of the chat templates shipped with strictcall (`--chat-template NAME`)."""
    folder = resources.files("strictcall.chat").joinpath("templates")
    return sorted(
        p.name.removesuffix(".jinja") for p in folder.iterdir() if p.name.endswith(".jinja")
    )


def shipped_template(name: str) -> str | None:
    """The text of the shipped template `name` (with or without `.jinja`), if there is one."""
    name = name.removesuffix(".jinja")
    if name not in shipped_templates():
        return None
    return resources.files("strictcall.chat").joinpath("templates", name + ".jinja").read_text()


def read_template(value: str | Path) -> str:
    path = Path(value)
    if path.exists():
        return path.read_text()
    if "{%" in str(value) or "{{" in str(value):
        return str(value)
    shipped = shipped_template(str(value))
    if shipped is not None:
        return shipped
    names = ", ".join(shipped_templates())
    raise FileNotFoundError(
        f"chat template {value} is neither a file nor a shipped template ({names})"
    )

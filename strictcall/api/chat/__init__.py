"""POST /v1/chat/completions: the chat wire shape in (translate) and out (route)."""

from strictcall.api.chat.route import create_chat_completion

__all__ = ["create_chat_completion"]

"""POST /v1/messages (Anthropic's Messages API): its wire shape in (translate) and out (route)."""

from strictcall.api.messages.errors import AnthropicErrorMiddleware
from strictcall.api.messages.route import count_tokens, create_message
from strictcall.api.messages.schemas import CountTokensRequest, MessagesRequest

__all__ = [
    "AnthropicErrorMiddleware",
    "CountTokensRequest",
    "MessagesRequest",
    "count_tokens",
    "create_message",
]

"""`strictcall serve MODEL` and friends. Flag names follow vLLM's so its users can switch."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from strictcall import __version__


def _serve_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="serve MODEL behind the OpenAI API")
    p.add_argument("model", help="a local model directory or a Hugging Face repo id")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument(
        "--tool-format",
        "--tool-call-parser",
        dest="tool_format",
        default="auto",
        help="tool-call format (vLLM parser names); 'auto' reads it from the chat template",
    )
    p.add_argument(
        "--enable-auto-tool-choice",
        action="store_true",
        help="accepted for vLLM compatibility; tool calling is always on",
    )
    p.add_argument("--chat-template", help="a chat template file overriding the model's own")
    p.add_argument("--served-model-name", help="the model name clients use")
    p.add_argument(
        "--api-key",
        default=os.environ.get("STRICTCALL_API_KEY"),
        help="require this Bearer key on /v1 (or set STRICTCALL_API_KEY)",
    )
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--dtype", default="auto", choices=["auto", "float32", "float16", "bfloat16"])
    p.add_argument("--max-model-len", type=int, help="context length (prompt + completion)")
    p.add_argument("--max-num-seqs", type=int, default=16, help="sequences decoded together")
    p.add_argument(
        "--max-queue", type=int, default=256, help="requests in flight before new ones get 503"
    )
    p.add_argument(
        "--exclude-tools-when-tool-choice-none",
        action="store_true",
        help="do not render tools into the prompt when tool_choice is 'none'",
    )
    p.add_argument(
        "--reasoning-effort",
        choices=["low", "medium", "high"],
        help="reasoning effort for requests that do not set reasoning_effort (gpt-oss: medium)",
    )
    p.add_argument("--trust-remote-code", action="store_true")
    p.add_argument("--log-level", default="info")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="strictcall", description=__doc__)
    parser.add_argument("--version", action="version", version=__version__)
    sub = parser.add_subparsers(dest="command", required=True)
    _serve_parser(sub)
    demo = sub.add_parser("build-demo", help="build the tiny demo model (once) into DIR")
    demo.add_argument("dir")
    sub.add_parser("formats", help="list the tool-call formats")
    args = parser.parse_args(argv)

    if args.command == "formats":
        from strictcall.formats import format_names, get_format

        for name in format_names():
            print(f"{name:16s} {get_format(name).description}")
        return 0
    if args.command == "build-demo":
        from strictcall.demo import build_tiny_model

        print(build_tiny_model(args.dir))
        return 0
    return serve(args)


def serve(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    import uvicorn

    from strictcall.api.app import create_app
    from strictcall.api.state import ServerConfig, make_state
    from strictcall.engines.embedded import EmbeddedEngine, EngineConfig
    from strictcall.formats import get_format

    if args.tool_format != "auto":
        try:
            get_format(args.tool_format)
        except KeyError as exc:
            print(f"strictcall: {exc.args[0]}", file=sys.stderr)
            return 2
    engine = EmbeddedEngine(
        EngineConfig(
            model=args.model,
            device=args.device,
            dtype=args.dtype,
            max_model_len=args.max_model_len,
            max_batch=args.max_num_seqs,
            max_queue=args.max_queue,
            chat_template=args.chat_template,
            trust_remote_code=args.trust_remote_code,
        )
    )
    config = ServerConfig(
        served_model_name=args.served_model_name,
        tool_format=args.tool_format,
        api_key=args.api_key,
        exclude_tools_when_tool_choice_none=args.exclude_tools_when_tool_choice_none,
        reasoning_effort=args.reasoning_effort,
    )
    state = make_state(config, engine, engine.tokenizer, args.model)
    app = create_app(state)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level.lower())
    return 0


if __name__ == "__main__":
    sys.exit(main())

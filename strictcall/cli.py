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
    limits = p.add_argument_group("limits (each refusal is a 4xx naming the field)")
    limits.add_argument(
        "--max-request-bytes",
        type=int,
        default=4 * 1024 * 1024,
        help="largest request body; larger ones get 413 (default 4 MiB)",
    )
    limits.add_argument("--max-tools", type=int, default=512, help="tools per request")
    limits.add_argument("--max-messages", type=int, default=4096, help="messages per request")
    limits.add_argument(
        "--max-schema-depth", type=int, default=32, help="nesting depth of one tool schema"
    )
    limits.add_argument(
        "--max-schema-bytes",
        type=int,
        default=256 * 1024,
        help="size of one tool schema as JSON (default 256 KiB)",
    )
    p.add_argument(
        "--shutdown-timeout",
        type=float,
        default=30.0,
        help="on SIGTERM, seconds to let in-flight requests finish before cutting them off",
    )
    p.add_argument(
        "--exclude-tools-when-tool-choice-none",
        action="store_true",
        help="do not render tools into the prompt when tool_choice is 'none'",
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
    from strictcall.grammar.schema import SchemaLimits

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
        schema_limits=SchemaLimits(
            max_depth=args.max_schema_depth, max_bytes=args.max_schema_bytes
        ),
        max_request_bytes=args.max_request_bytes,
        max_tools=args.max_tools,
        max_messages=args.max_messages,
    )
    state = make_state(config, engine, engine.tokenizer, args.model)
    app = create_app(state)
    # SIGTERM/SIGINT: uvicorn stops listening, lets in-flight requests finish for up to
    # --shutdown-timeout seconds, cancels the rest (their generations are aborted), then the
    # lifespan stops the engine.
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level.lower(),
        timeout_graceful_shutdown=max(args.shutdown_timeout, 0.0),  # type: ignore[arg-type]
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Tiny models of the families declared since 2026-12 (issue 12): each with its real chat
template (tests/data/templates) and its special tokens, for tests/api/test_families.py."""

from __future__ import annotations

from strictcall.demo import TinyFamily
from tests.api.family_harness import FamilyCase
from tests.conftest import DATA


def _template(name: str) -> str:
    return str(DATA / "templates" / name)


_QWEN_CONTROL = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
_THINK = ("<think>", "</think>")

GLM46 = TinyFamily(
    name="glm-4.6",
    template=_template("GLM-4.6.jinja"),
    control_tokens=(
        "<|endoftext|>",
        "[MASK]",
        "[gMASK]",
        "[sMASK]",
        "<sop>",
        "<eop>",
        "<|system|>",
        "<|user|>",
        "<|assistant|>",
        "<|observation|>",
    ),
    added_tokens=(
        "<tool_call>",
        "</tool_call>",
        "<arg_key>",
        "</arg_key>",
        "<arg_value>",
        "</arg_value>",
        *_THINK,
        "<tool_response>",
        "</tool_response>",
    ),
    eos="<|endoftext|>",
    more_eos=("<|user|>", "<|observation|>"),
)
KIMI_K2 = TinyFamily(
    name="kimi-k2",
    template=_template("Kimi-K2-Instruct.jinja"),
    control_tokens=(
        "[BOS]",
        "[EOS]",
        "<|im_end|>",
        "<|im_user|>",
        "<|im_assistant|>",
        "<|im_system|>",
        "<|im_middle|>",
        "<|tool_calls_section_begin|>",
        "<|tool_calls_section_end|>",
        "<|tool_call_begin|>",
        "<|tool_call_argument_begin|>",
        "<|tool_call_end|>",
    ),
    eos="<|im_end|>",
    bos="[BOS]",
    pad="[EOS]",
)
MINIMAX_M2 = TinyFamily(
    name="minimax-m2",
    template=_template("MiniMax-M2.jinja"),
    control_tokens=("]~!b[", "]~b]", "[e~["),
    added_tokens=("<minimax:tool_call>", "</minimax:tool_call>", *_THINK),
    eos="[e~[",
)
SEED_OSS = TinyFamily(
    name="seed-oss",
    template=_template("ByteDance-Seed-OSS.jinja"),
    control_tokens=("<seed:bos>", "<seed:eos>", "<seed:pad>"),
    added_tokens=("<seed:think>", "</seed:think>", "<seed:tool_call>", "</seed:tool_call>"),
    eos="<seed:eos>",
    bos="<seed:bos>",
    pad="<seed:pad>",
)
STEP3P5 = TinyFamily(
    name="step-3.5",
    template=_template("StepFun3.5-Flash.jinja"),
    control_tokens=_QWEN_CONTROL,
    added_tokens=("<tool_call>", "</tool_call>", *_THINK, "<tool_response>", "</tool_response>"),
    eos="<|im_end|>",
    pad="<|endoftext|>",
)
NEMOTRON_NANO = TinyFamily(
    name="nemotron-nano-v2",
    template=_template("NVIDIA-Nemotron-Nano-v2.jinja"),
    control_tokens=("<SPECIAL_10>", "<SPECIAL_11>", "<SPECIAL_12>"),
    added_tokens=("<TOOLCALL>", "</TOOLCALL>", *_THINK, "<TOOL_RESPONSE>", "</TOOL_RESPONSE>"),
    eos="<SPECIAL_12>",
)
APRIEL = TinyFamily(
    name="apriel-1.6",
    template=_template("Apriel-1.6-15b-Thinker-fixed.jinja"),
    control_tokens=(
        "<s>",
        "</s>",
        "<|begin_system|>",
        "<|begin_user|>",
        "<|begin_assistant|>",
        "<|begin_tool_result|>",
        "<|begin_content|>",
        "<|end|>",
    ),
    added_tokens=("<tool_calls>", "</tool_calls>", "[BEGIN FINAL RESPONSE]"),
    eos="<|end|>",
    more_eos=("</s>",),
    bos="<s>",
)
COMMAND_R7B = TinyFamily(
    name="command-r7b",
    template=_template("CohereForAI-c4ai-command-r7b-12-2024-tool_use.jinja"),
    control_tokens=(
        "<BOS_TOKEN>",
        "<PAD>",
        "<|END_OF_TURN_TOKEN|>",
        "<|START_OF_TURN_TOKEN|>",
        "<|USER_TOKEN|>",
        "<|CHATBOT_TOKEN|>",
        "<|SYSTEM_TOKEN|>",
        "<|START_THINKING|>",
        "<|END_THINKING|>",
        "<|START_ACTION|>",
        "<|END_ACTION|>",
        "<|START_RESPONSE|>",
        "<|END_RESPONSE|>",
        "<|START_TOOL_RESULT|>",
        "<|END_TOOL_RESULT|>",
    ),
    eos="<|END_OF_TURN_TOKEN|>",
    bos="<BOS_TOKEN>",
    pad="<PAD>",
)
LFM25 = TinyFamily(
    name="lfm2.5",
    template=_template("LFM2.5-8B-A1B.jinja"),
    control_tokens=("<|startoftext|>", "<|im_start|>", "<|im_end|>", "<|pad|>"),
    added_tokens=(
        "<|tool_call_start|>",
        "<|tool_call_end|>",
        "<|tool_list_start|>",
        "<|tool_list_end|>",
        "<|tool_response_start|>",
        "<|tool_response_end|>",
        *_THINK,
    ),
    eos="<|im_end|>",
    bos="<|startoftext|>",
    pad="<|pad|>",
)

DEEPSEEK_V32 = TinyFamily(
    name="deepseek-v3.2",
    template=_template("deepseek-ai-DeepSeek-V3.2.jinja"),
    control_tokens=("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜▁pad▁｜>"),
    # the block's opening as one (ordinary) token: spelled piece by piece, a random model
    # never reaches a call in auto
    added_tokens=("<｜User｜>", "<｜Assistant｜>", *_THINK, "<｜DSML｜function_calls>"),
    eos="<｜end▁of▁sentence｜>",
    bos="<｜begin▁of▁sentence｜>",
    pad="<｜▁pad▁｜>",
)
KIMI_K3 = TinyFamily(
    name="kimi-k3",
    template=_template("Kimi-K3.jinja"),
    control_tokens=("<|open|>", "<|close|>", "<|sep|>", "<|end_of_msg|>", "[PAD]"),
    eos="<|end_of_msg|>",
    pad="[PAD]",
)
MUSE_GLIMMER = TinyFamily(
    name="muse-glimmer",
    template=_template("muse-glimmer.jinja"),
    control_tokens=("<|start|>", "<|message|>", "<|eom|>", "<|eot|>", "<|patch|>", "<|video|>"),
    added_tokens=("<atem:function_calls>", "</atem:function_calls>"),
    eos="<|eot|>",
    pad="<|video|>",
)

GEMMA4 = TinyFamily(
    name="gemma-4",
    template=_template("google-gemma-4-31B-it.jinja"),
    control_tokens=(
        "<bos>",
        "<eos>",
        "<pad>",
        "<|turn>",
        "<turn|>",
        "<|think|>",
        "<|channel>",
        "<channel|>",
        "<|tool>",
        "<tool|>",
        "<|tool_call>",
        "<tool_call|>",
        "<|tool_response>",
        "<tool_response|>",
        '<|"|>',
        "<|image|>",
        "<|audio|>",
        "<|video|>",
    ),
    eos="<turn|>",
    more_eos=("<eos>", "<|tool_response>"),
    bos="<bos>",
    pad="<pad>",
)

FUNCTIONARY_V32 = TinyFamily(
    name="functionary-v3.2",
    template=_template("meetkai-functionary-medium-v3.2.jinja"),
    control_tokens=(
        "<|begin_of_text|>",
        "<|end_of_text|>",
        "<|start_header_id|>",
        "<|end_header_id|>",
        "<|eom_id|>",
        "<|eot_id|>",
    ),
    eos="<|eot_id|>",
    more_eos=("<|eom_id|>",),
    bos="<|begin_of_text|>",
    architecture="llama",
)
SOLAR_OPEN = TinyFamily(
    name="solar-open",
    template=_template("upstage-Solar-Open-100B.jinja"),
    control_tokens=(
        "<|endoftext|>",
        "<|begin|>",
        "<|end|>",
        "<|content|>",
        "<|think|>",
        "<|flush|>",
        "<|calls|>",
        "<|tool_calls|>",
        "<|tool_call:begin|>",
        "<|tool_call:name|>",
        "<|tool_call:args|>",
        "<|tool_call:end|>",
        "<|tools:begin|>",
        "<|tools:end|>",
        "<|tool:begin|>",
        "<|tool:end|>",
        "<|tool_response|>",
        "<|tool_response:begin|>",
        "<|tool_response:name|>",
        "<|tool_response:result|>",
        "<|tool_response:end|>",
    ),
    # `<|end|>` cannot end the turn: it closes a reasoning block too, after which the answer
    # follows (`<|end|><|begin|>assistant<|content|>`)
    eos="<|flush|>",
    more_eos=("<|calls|>",),
    pad="<|endoftext|>",
)

# Fewer seeds than the older families: 5 modes x 8 x 2 = 80 generations each.
_SEEDS = 8
MODERN_CASES = [
    FamilyCase(
        GEMMA4,
        "gemma4",
        favour={"<|tool_call>": 5, "<|channel>": 6, "<channel|>": 6, '<|"|>': 2},
        reasoning=True,
        reasoning_markers=("<|channel>", "<channel|>"),
    ),
    FamilyCase(
        GLM46, "glm45", favour={"<tool_call>": 5, "<think>": 6, "</think>": 6}, reasoning=True
    ),
    FamilyCase(KIMI_K2, "kimi_k2", favour={"<|tool_calls_section_begin|>": 5}),
    FamilyCase(
        KIMI_K3,
        "kimi_k3",
        favour={"<|close|>": 5, "<|open|>": 8},
        reasoning=True,
        reasoning_markers=("<|open|>think<|sep|>", "<|close|>think<|sep|><|open|>response<|sep|>"),
    ),
    FamilyCase(
        MUSE_GLIMMER,
        "muse_glimmer",
        favour={"<|eom|>": 5, "<atem:function_calls>": 5},
        reasoning=True,
        reasoning_markers=(" to=self<|message|>", "<|eom|><|start|>assistant"),
    ),
    FamilyCase(
        MINIMAX_M2, "minimax_m2", favour={"</think>": 8, "<minimax:tool_call>": 5}, reasoning=True
    ),
    FamilyCase(DEEPSEEK_V32, "deepseek_v32", favour={"<｜DSML｜function_calls>": 5}),
    FamilyCase(
        SEED_OSS,
        "seed_oss",
        favour={"<seed:tool_call>": 5, "<seed:think>": 6, "</seed:think>": 6},
        reasoning=True,
        reasoning_markers=("<seed:think>", "</seed:think>"),
    ),
    FamilyCase(STEP3P5, "step3p5", favour={"</think>": 8, "<tool_call>": 5}, reasoning=True),
    FamilyCase(
        NEMOTRON_NANO, "nemotron_json", favour={"</think>": 8, "<TOOLCALL>": 5}, reasoning=True
    ),
    FamilyCase(
        APRIEL,
        "apriel",
        favour={"[BEGIN FINAL RESPONSE]": 8, "<tool_calls>": 5},
        reasoning=True,
        reasoning_markers=("Here are my reasoning steps:", "[BEGIN FINAL RESPONSE]"),
    ),
    FamilyCase(COMMAND_R7B, "command_r7b", favour={"<|START_ACTION|>": 5}),
    FamilyCase(FUNCTIONARY_V32, "functionary_v3_2", favour={"get": 3, "book": 3}),
    FamilyCase(
        SOLAR_OPEN,
        "solar_open",
        favour={"<|tool_calls|>": 5, "<|think|>": 6, "<|end|>": 6},
        reasoning=True,
        reasoning_markers=("<|think|>", "<|end|>"),
    ),
    FamilyCase(
        LFM25,
        "lfm2",
        favour={"<|tool_call_start|>": 5, "<think>": 6, "</think>": 6},
        reasoning=True,
    ),
]
for _case in MODERN_CASES:
    _case.seeds = _SEEDS

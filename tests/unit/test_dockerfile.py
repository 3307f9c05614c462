"""The Dockerfile: multi-stage, non-root, and its entry points exist in the project."""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import re
import shlex
import tomllib
from pathlib import Path

from tradeoff.cli import COMMANDS

ROOT = Path(__file__).resolve().parents[2]

Instruction = tuple[str, str]


def instructions() -> list[Instruction]:
    """(INSTRUCTION, arguments) in order; continuation lines joined, comments dropped."""
    out: list[Instruction] = []
    pending = ""
    for raw in (ROOT / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = pending + line
        pending = ""
        word, _, rest = full.partition(" ")
        out.append((word.upper(), rest.strip()))
    assert not pending, "the Dockerfile ends in a continuation"
    return out


def stages() -> list[list[Instruction]]:
    result: list[list[Instruction]] = []
    for ins in instructions():
        if ins[0] == "FROM":
            result.append([])
        if result:
            result[-1].append(ins)
    return result


def args_defaults() -> dict[str, str]:
    return dict(
        rest.split("=", 1) for word, rest in instructions() if word == "ARG" and "=" in rest
    )


def exec_form(text: str) -> list[str]:
    value = json.loads(text)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), text
    return value


def test_multi_stage_build_copies_the_venv_into_a_slim_python() -> None:
    built = stages()
    assert len(built) >= 2
    defaults = args_defaults()
    first = built[0][0][1].split()
    assert first[-2:][0].upper() == "AS" and first[-1] == "builder"
    final_from = built[-1][0][1].split()[0]
    image = re.sub(r"\$\{(\w+)\}", lambda m: defaults[m[1]], final_from)
    assert image == "python:3.11-slim"
    copies = [rest for word, rest in built[-1] if word == "COPY"]
    assert any(c.startswith("--from=builder") and "/opt/venv" in c for c in copies)
    # The final stage builds nothing: no pip, no compilers.
    assert not any(word == "RUN" and "pip" in rest for word, rest in built[-1])


def test_the_final_user_is_numeric_and_not_root() -> None:
    users = [rest for word, rest in stages()[-1] if word == "USER"]
    assert users, "the final stage sets no USER"
    user = users[-1].split(":")[0]
    assert user.isdigit() and int(user) != 0
    assert int(user) == 10001  # the chart's runAsUser


def test_entrypoint_and_cmd_exist_in_the_project() -> None:
    final = dict(stages()[-1])
    entrypoint, cmd = exec_form(final["ENTRYPOINT"]), exec_form(final["CMD"])
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert entrypoint == ["tradeoff"] and entrypoint[0] in scripts
    assert cmd == ["operator"] and cmd[0] in COMMANDS
    # The same image runs the built-in workloads.
    assert importlib.util.find_spec("trial_runner.sklearn") is not None
    assert "HEALTHCHECK" not in dict(instructions())
    exposed = {
        int(p.split("/")[0])
        for word, rest in stages()[-1]
        if word == "EXPOSE"
        for p in rest.split()
    }
    assert exposed == {8080, 8081}


def test_torch_is_never_installed_unpinned() -> None:
    for word, rest in instructions():
        if word != "RUN" or "torch" not in rest:
            continue
        for token in shlex.split(rest.replace(";", " ").replace("&&", " ")):
            if re.match(r"torch\b", token):
                assert re.fullmatch(r"torch==[0-9][\w.+]*", token), f"unpinned: {token}"
                assert "cpu" in rest, "torch must come from the CPU wheel index"


def test_everything_copied_survives_the_dockerignore() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def ignored(path: str) -> bool:
        verdict = False
        for pattern in patterns:
            keep = pattern.startswith("!")
            bare = pattern.lstrip("!").rstrip("/")
            if fnmatch.fnmatch(path, bare) or path.startswith(bare + "/"):
                verdict = not keep
        return verdict

    copied = [
        src
        for word, rest in instructions()
        if word == "COPY" and not rest.startswith("--from")
        for src in rest.split()[:-1]
    ]
    assert copied
    for src in copied:
        assert (ROOT / src).exists(), f"COPY {src}: no such path"
        assert not ignored(src.rstrip("/")), f"COPY {src} is excluded by .dockerignore"
    for path in ("tests/unit/test_dockerfile.py", ".git/HEAD", "benchmarks/x"):
        assert ignored(path), f"{path} would be sent to the build"

"""Workdirs damaged or edited by hand, and hostile arguments, against every command.

Whatever the damage, a command answers in one line naming the file (or the option) and
what is wrong, exit code 2 (1 for a real failure), never a traceback and never a hang or
memory growing with what a file claims; `run` on a damaged workdir rewrites no finished
trial's record.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.results_data import MANIFEST, write_workdir
from tests.results_data import RESULT_COMMANDS as READERS
from tradeoff import cli
from tradeoff.local.store import FileStore

RESULT_COMMANDS = [*READERS, ["ensemble"]]


class Hung(BaseException):
    """A command still blocked after `HANG_SECONDS` (a FIFO opened for reading, say)."""


HANG_SECONDS = 20


def _hung(_signum: int, _frame: FrameType | None) -> None:
    raise Hung(f"still running after {HANG_SECONDS} s")


HEADROOM = 2 << 30
"""Address space a test may add to what its process already holds."""


def _address_space() -> int:
    """The bytes of address space this process holds (its VmSize)."""
    pages = int(Path("/proc/self/statm").read_text().split()[0])
    return pages * os.sysconf("SC_PAGE_SIZE")


@pytest.fixture(autouse=True)
def bounded() -> Iterator[None]:
    """`HEADROOM` more address space than the process holds, and `HANG_SECONDS`: a reader
    that does not bound what it reads fails with MemoryError instead of taking the
    machine's memory, and one that blocks fails with Hung. (Relative, not a fixed cap: a
    test worker that loaded PyTorch earlier already holds over 3 GiB, and under a fixed
    4 GiB cap its threads could not start and it crashed.)"""
    limits = resource.getrlimit(resource.RLIMIT_AS)
    cap = _address_space() + HEADROOM
    if limits[1] != resource.RLIM_INFINITY:
        cap = min(cap, limits[1])
    resource.setrlimit(resource.RLIMIT_AS, (cap, limits[1]))
    previous = signal.signal(signal.SIGALRM, _hung)
    signal.alarm(HANG_SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        resource.setrlimit(resource.RLIMIT_AS, limits)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    (tmp_path / "study.yaml").write_text(json.dumps(MANIFEST))  # JSON is YAML
    return write_workdir(tmp_path / ".tradeoff")


def run(
    capsys: pytest.CaptureFixture[str], argv: list[str], workdir: Path | None = None
) -> tuple[int, str, str]:
    if workdir is not None:
        command, *rest = argv
        rest = [str(workdir) if a == "SECOND" else a for a in rest]
        argv = [command, str(workdir), *rest]
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def run_workdir(capsys: pytest.CaptureFixture[str], workdir: Path) -> tuple[int, str, str]:
    """`tradeoff run` resuming `workdir` with the manifest that made it."""
    return run(capsys, ["run", "study.yaml", "--workdir", str(workdir), "--quiet"])


def one_line(err: str, *needles: str) -> str:
    """The one line of `err` (warnings aside); it names every needle."""
    lines = [line for line in err.splitlines() if not line.startswith("warning:")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def digests(workdir: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in (workdir / "trials").glob("*.json")
        if p.is_file() and not p.is_symlink()
    }


def replace(path: Path, make: Callable[[Path], object]) -> None:
    path.unlink()
    make(path)


def first_record(workdir: Path) -> Path:
    return sorted((workdir / "trials").glob("*.json"))[0]


def nested(depth: int = 100_000) -> str:
    return "[" * depth + "]" * depth


def study_file(workdir: Path) -> Path:
    return workdir / "study.json"


def signing_key(workdir: Path) -> Path:
    return workdir / "signing.key"


DAMAGED_FILES = {"study.json": study_file, "record": first_record}
NOT_FILES: dict[str, Callable[[Path], object]] = {
    "endless": lambda p: p.symlink_to("/dev/zero"),
    "fifo": os.mkfifo,
}


@pytest.mark.parametrize("kind", NOT_FILES)
@pytest.mark.parametrize("which", DAMAGED_FILES)
@pytest.mark.parametrize("argv", [*RESULT_COMMANDS, ["run"]], ids=lambda a: a[0])
def test_a_file_that_is_endless_or_blocks_is_refused_unread(
    workdir: Path, capsys: pytest.CaptureFixture[str], argv: list[str], which: str, kind: str
) -> None:
    path = DAMAGED_FILES[which](workdir)
    before = digests(workdir)
    replace(path, NOT_FILES[kind])
    start = time.process_time()
    code, out, err = run_workdir(capsys, workdir) if argv == ["run"] else run(capsys, argv, workdir)
    assert code == 2 and out == ""
    one_line(err, str(path), "not a regular file")
    assert time.process_time() - start < 5
    assert {k: v for k, v in digests(workdir).items() if k != path.name} == {
        k: v for k, v in before.items() if k != path.name
    }


@pytest.mark.parametrize("kind", NOT_FILES)
def test_a_signing_key_that_is_endless_or_blocks_is_refused_unread(
    workdir: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    NOT_FILES[kind](signing_key(workdir))
    code, out, err = run_workdir(capsys, workdir)
    assert code == 2 and out == ""
    one_line(err, str(signing_key(workdir)), "not a regular file")


@pytest.mark.parametrize("argv", [*RESULT_COMMANDS, ["run"], ["list"]], ids=lambda a: a[0])
def test_a_deeply_nested_study_file_is_refused_in_one_line(
    workdir: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    study_file(workdir).write_text(nested())
    if argv == ["list"]:
        code, out, err = run(capsys, argv)
        assert code == 0 and f"warning: {study_file(workdir)}: not a valid study file" in err
        return
    code, out, err = run_workdir(capsys, workdir) if argv == ["run"] else run(capsys, argv, workdir)
    assert code == 2 and out == ""
    one_line(err, str(study_file(workdir)), "not a valid study file", "nested")


def test_a_huge_record_is_refused_by_its_size_alone(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tradeoff.local.files import MAX_RECORD_BYTES

    path = first_record(workdir)
    with path.open("r+b") as record:
        record.truncate(MAX_RECORD_BYTES + 1)  # sparse: no disk used
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    code, out, err = run(capsys, ["show"], workdir)
    assert code == 2 and out == ""
    one_line(err, str(path), "larger than 64 MiB")
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 32 * 1024


@pytest.mark.parametrize(
    ("content", "words"),
    [(None, "larger than 1 MiB"), (nested(), "nested")],
    ids=["endless", "nested"],
)
def test_an_intensity_config_that_is_endless_or_nested_is_refused(
    workdir: Path, capsys: pytest.CaptureFixture[str], content: str | None, words: str
) -> None:
    path = Path("/dev/zero") if content is None else workdir.parent / "intensity.json"
    if content is not None:
        path.write_text(content)
    argv = ["run", "study.yaml", "--workdir", str(workdir), "--intensity-config", str(path)]
    code, out, err = run(capsys, argv)
    assert code == 2 and out == ""
    one_line(err, f"--intensity-config {path}", words)


LOCKS: dict[str, Callable[[Path], object]] = {
    "fifo": os.mkfifo,
    "device": lambda p: p.symlink_to("/dev/null"),
    "directory": Path.mkdir,
}


@pytest.mark.parametrize("kind", LOCKS)
def test_a_lock_file_that_is_not_a_file_is_named_by_run(
    workdir: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    before = digests(workdir)
    LOCKS[kind](workdir / ".lock")
    code, out, err = run_workdir(capsys, workdir)
    assert code == 2 and out == ""
    line = one_line(err, str(workdir / ".lock"), "delete it")
    assert any(why in line for why in ("not a regular file", "Is a directory", "symbolic link"))
    assert digests(workdir) == before


def test_a_lock_file_linked_out_of_the_workdir_is_refused_untouched(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = workdir.parent.parent / "precious.txt"
    outside.write_text("keep me\n")
    (workdir / ".lock").symlink_to(outside)
    code, out, err = run_workdir(capsys, workdir)
    assert code == 2 and out == ""
    one_line(err, str(workdir / ".lock"), "symbolic link")
    assert outside.read_text() == "keep me\n"


@pytest.mark.parametrize("kind", LOCKS)
@pytest.mark.parametrize("argv", RESULT_COMMANDS, ids=lambda a: a[0])
def test_result_commands_do_not_block_on_a_lock_file_that_is_not_a_file(
    workdir: Path, capsys: pytest.CaptureFixture[str], argv: list[str], kind: str
) -> None:
    LOCKS[kind](workdir / ".lock")
    code, _, err = run(capsys, argv, workdir)
    assert "Traceback" not in err
    assert code in (0, 2)  # ensemble: 2, the study saved no predictions


def journal(workdir: Path) -> Path:
    return workdir / "attempts" / "children.jsonl"


JOURNALS: dict[str, Callable[[Path], object]] = {
    "fifo": os.mkfifo,
    "endless": lambda p: p.symlink_to("/dev/zero"),
    "directory": Path.mkdir,
}


@pytest.mark.parametrize("kind", JOURNALS)
def test_a_journal_of_children_that_is_not_a_file_is_named_by_run(
    workdir: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    before = digests(workdir)
    journal(workdir).parent.mkdir()
    JOURNALS[kind](journal(workdir))
    code, out, err = run_workdir(capsys, workdir)
    assert code == 2 and out == ""
    one_line(err, str(journal(workdir)), "delete it")
    assert digests(workdir) == before


def test_a_scratch_folder_that_is_a_file_is_named_by_run(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = digests(workdir)
    (workdir / "attempts").write_text("not a folder")
    code, out, err = run_workdir(capsys, workdir)
    assert code == 2 and out == ""
    one_line(err, str(journal(workdir)), "Not a directory")
    assert digests(workdir) == before


def test_garbage_lines_in_the_journal_of_children_are_skipped(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal(workdir).parent.mkdir()
    lines = [b"\xff\x00garbage", b'{"trial": 1}', b"[" * 100_000, b'{"pid": -1}', b"[]", b"7"]
    journal(workdir).write_bytes(b"\n".join(lines) + b"\n")
    code, out, err = run_workdir(capsys, workdir)
    assert "Traceback" not in err
    assert code == 0 and "Study demo Succeeded" in out


@pytest.mark.parametrize(
    "make",
    [lambda p: p.write_text("x"), lambda p: p.symlink_to("/dev/null")],
    ids=["file", "device"],
)
@pytest.mark.parametrize("argv", RESULT_COMMANDS, ids=lambda a: a[0])
def test_a_trials_folder_that_is_not_a_folder_is_named_not_shown_empty(
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    make: Callable[[Path], object],
) -> None:
    trials = workdir / "trials"
    for path in trials.iterdir():
        path.unlink()
    trials.rmdir()
    make(trials)
    code, out, err = run(capsys, argv, workdir)
    assert code == 2 and out == ""
    one_line(err, str(trials), "not a directory")


def exit_code(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str, str]:
    """`run`, with argparse's exit (bad arguments) as a code like the commands' own."""
    try:
        return run(capsys, argv)
    except SystemExit as exc:
        out, err = capsys.readouterr()
        return int(exc.code or 0), out, err


W = "WORKDIR"
PATH_OPTIONS = [
    (["show", "VALUE"], "STUDY"),
    (["show", W, "--root", "VALUE"], "--root"),
    (["export", W, "-o", "VALUE"], "-o/--output"),
    (["report", W, "-o", "VALUE"], "-o/--output"),
    (["propose", W, "-o", "VALUE"], "-o/--output"),
    (["compare", W, "VALUE"], "B"),
    (["ensemble", W, "--root", "VALUE"], "--root"),
    (["list", "--root", "VALUE"], "--root"),
    (["run", "VALUE"], "STUDY.yaml"),
    (["run", "study.yaml", "--workdir", "VALUE"], "--workdir"),
    (["run", "study.yaml", "--report", "VALUE"], "--report"),
    (["run", "study.yaml", "--intensity-config", "VALUE"], "--intensity-config"),
    (["validate", "VALUE"], "FILE"),
    (["import", "VALUE"], "FILE"),
    (["import", "study.yaml", "-o", "VALUE"], "-o/--output"),
    (["crds", "--output", "VALUE"], "--output"),
]
IMPOSSIBLE_PATHS = {
    "long name": ("a" * 256, "a name of 256 bytes in the path is too long"),
    "long path": ("a/" * 2048, "a path of 4,096 bytes is too long"),
    "NUL byte": ("a\0b", "a path cannot contain a NUL byte"),
}


@pytest.mark.parametrize("impossible", IMPOSSIBLE_PATHS)
@pytest.mark.parametrize(("argv", "option"), PATH_OPTIONS, ids=lambda a: " ".join(a))
def test_a_path_no_file_system_holds_is_refused_naming_the_option(
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    option: str,
    impossible: str,
) -> None:
    value, words = IMPOSSIBLE_PATHS[impossible]
    argv = [value if a == "VALUE" else str(workdir) if a == W else a for a in argv]
    before = digests(workdir)
    code, out, err = exit_code(capsys, argv)
    assert code == 2 and out == ""
    one_line(err, f"argument {option}: {words}")
    assert digests(workdir) == before


# Property: any damage to any file a run leaves, any command: one line or a good answer.

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _paths(document: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every place in a JSON document a value sits."""
    found = [prefix] if prefix else []
    if isinstance(document, dict):
        for key, value in document.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found += _paths(value, (*prefix, index))
    return found


def _set(document: Any, path: tuple[str | int, ...], value: Any) -> None:
    for part in path[:-1]:
        document = document[part]
    document[path[-1]] = value


@st.composite
def damages(draw: st.DrawFn) -> Callable[[Path], Path]:
    """A change to one file of a workdir; applied, it returns the file it changed."""
    target = draw(
        st.sampled_from(
            [
                "study.json",
                "record",
                "signing.key",
                "priors.json",
                "attempts/children.jsonl",
                ".lock",
            ]
        )
    )
    how = draw(st.sampled_from(["bytes", "truncated", "json", "field"]))
    data = draw(st.data())

    def damage(workdir: Path) -> Path:
        path = {"study.json": study_file, "record": first_record}.get(target, lambda w: w / target)(
            workdir
        )
        original = path.read_bytes() if path.exists() else b"{}"
        path.parent.mkdir(exist_ok=True)
        if how == "bytes":
            path.write_bytes(data.draw(st.binary(max_size=200)))
        elif how == "truncated":
            path.write_bytes(original[: data.draw(st.integers(0, max(len(original) - 1, 0)))])
        elif how == "json":
            path.write_text(json.dumps(data.draw(JSON_VALUES)))
        else:  # a field of the JSON replaced (of a file that is not JSON: all of it)
            document = json.loads(original) if path.suffix == ".json" else None
            places = _paths(document)
            if places:
                _set(document, data.draw(st.sampled_from(places)), data.draw(JSON_VALUES))
            path.write_text(json.dumps(document))
        return path

    return damage


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pristine")
    (root / "study.yaml").write_text(json.dumps(MANIFEST))
    workdir = write_workdir(root / ".tradeoff")
    FileStore(workdir).signing_key()
    return root


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(damage=damages(), argv=st.sampled_from([["show"], ["best"], ["export"], ["run"]]))
def test_any_damage_to_a_workdir_gets_one_line_or_a_good_answer(
    pristine: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    damage: Callable[[Path], Path],
    argv: list[str],
) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "study"
        shutil.copytree(pristine, root)
        monkeypatch.chdir(root)
        workdir = root / ".tradeoff" / "demo"
        damaged = damage(workdir)
        before = {k: v for k, v in digests(workdir).items() if k != damaged.name}
        if argv == ["run"]:
            code, out, err = run(
                capsys, ["run", "study.yaml", "--workdir", str(workdir), "--quiet"]
            )
        else:
            code, out, err = run(capsys, argv, workdir)
        assert "Traceback" not in err
        assert code in (0, 1, 2), (code, err)
        if code == 2:
            assert out == ""
            one_line(err)
        after = digests(workdir)
        assert {k: after.get(k) for k in before} == before  # no finished record rewritten


def test_an_artifact_that_blocks_is_named_by_ensemble(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """(One linked to /dev/zero leaves the artifact folder: refused as such already.)"""
    path = first_record(workdir)
    saved = workdir / "artifacts" / path.stem / "predictions.csv"
    saved.parent.mkdir(parents=True)
    os.mkfifo(saved)
    record = json.loads(path.read_text())
    artifact = {"name": saved.name, "path": str(saved.relative_to(workdir)), "size": 10}
    record["status"]["artifacts"] = [{**artifact, "sha256": "0" * 64}]
    path.write_text(json.dumps(record))
    code, out, err = run(capsys, ["ensemble"], workdir)
    assert code == 2 and out == ""
    one_line(err, f"{path.stem}: {artifact['path']} is not a regular file")


@pytest.mark.parametrize("text", ["", "\n", "00", "ab" * 31], ids=["empty", "newline", "1", "31"])
def test_a_signing_key_too_short_to_sign_is_refused(
    workdir: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    signing_key(workdir).write_text(text)
    code, out, err = run_workdir(capsys, workdir)
    assert code == 2 and out == ""
    one_line(err, str(signing_key(workdir)), "not a signing key", "delete it")


@pytest.mark.parametrize("given_flag", [True, False], ids=["--workdir", "default"])
def test_a_workdir_that_is_a_file_is_named_as_the_workdir(
    workdir: Path, capsys: pytest.CaptureFixture[str], given_flag: bool
) -> None:
    shutil.rmtree(workdir)
    workdir.write_text("not a folder")
    argv = ["run", "study.yaml", "--quiet"] + (["--workdir", str(workdir)] if given_flag else [])
    code, out, err = run(capsys, argv)
    assert code == 2 and out == ""
    where = "--workdir" if given_flag else "workdir"
    one_line(err, f"tradeoff run: {where}: ", f"{workdir.name} is not a directory")


@pytest.mark.parametrize("command", ["export", "propose", "import"])
def test_output_dash_is_standard_output_not_a_file_named_dash(
    workdir: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    source = str(workdir) if command != "import" else "katib.yaml"
    if command == "import":
        shutil.copy(Path(__file__).parent / "manifests" / "katib" / "random-job.yaml", source)
    default = run(capsys, [command, source])
    dashed = run(capsys, [command, source, "-o", "-"])
    assert dashed == default and default[0] == 0
    assert not Path("-").exists()


@pytest.mark.parametrize("kind", ["fifo", "link"])
def test_a_trial_log_that_is_not_a_file_is_not_written_and_blocks_nothing(
    workdir: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    manifest = json.loads(json.dumps(MANIFEST))
    manifest["spec"]["budget"]["maxTrials"] = 8  # one more trial runs: demo-0007
    Path("study.yaml").write_text(json.dumps(manifest))
    outside = workdir.parent.parent / "precious.txt"
    outside.write_text("keep me\n")
    log = workdir / "logs" / "demo-0007.log"
    log.parent.mkdir(exist_ok=True)
    os.mkfifo(log) if kind == "fifo" else log.symlink_to(outside)
    before = digests(workdir)
    code, _, err = run_workdir(capsys, workdir)
    assert "Traceback" not in err and code in (0, 1)
    assert "cannot write the trial's log" in (workdir / "trials" / "demo-0007.json").read_text()
    assert outside.read_text() == "keep me\n"
    assert {k: digests(workdir)[k] for k in before} == before


def test_a_signing_key_that_links_nowhere_is_named_not_a_traceback(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    signing_key(workdir).symlink_to(workdir.parent / "nowhere" / "signing.key")
    code, out, err = run_workdir(capsys, workdir)
    assert code == 2 and out == ""
    one_line(err, str(signing_key(workdir)), "cannot make a signing key", "delete it")


def test_a_record_that_cannot_be_written_stops_the_run_in_one_line(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = json.loads(json.dumps(MANIFEST))
    manifest["spec"]["budget"]["maxTrials"] = 8  # one more trial runs: demo-0007
    Path("study.yaml").write_text(json.dumps(manifest))
    (workdir / "trials" / ".demo-0007.json.tmp").mkdir()  # where its record is written
    before = digests(workdir)
    code, out, err = run_workdir(capsys, workdir)
    assert code == 2 and out == ""
    one_line(err, str(workdir / "trials" / "demo-0007.json"), "cannot write the record")
    assert digests(workdir) == before


@pytest.mark.parametrize("kind", NOT_FILES)
@pytest.mark.parametrize("argv", [["show"], ["best"]], ids=lambda a: a[0])
def test_recorded_priors_that_are_endless_or_block_are_refused_unread(
    workdir: Path, capsys: pytest.CaptureFixture[str], argv: list[str], kind: str
) -> None:
    saved = json.loads(study_file(workdir).read_text())
    saved["spec"]["warmStart"] = {"fromStudies": [{"name": "earlier"}]}
    study_file(workdir).write_text(json.dumps(saved))
    NOT_FILES[kind](workdir / "priors.json")
    code, out, err = run(capsys, argv, workdir)
    assert code == 2 and out == ""
    one_line(err, str(workdir / "priors.json"), "not a regular file")


def test_recorded_priors_nested_too_deep_are_refused_in_one_line(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = json.loads(study_file(workdir).read_text())
    saved["spec"]["warmStart"] = {"fromStudies": [{"name": "earlier"}]}
    study_file(workdir).write_text(json.dumps(saved))
    (workdir / "priors.json").write_text(nested())
    code, out, err = run(capsys, ["show"], workdir)
    assert code == 2 and out == ""
    one_line(err, str(workdir / "priors.json"), "not a valid priors file (nested too deeply)")


@pytest.mark.parametrize(
    "make", [lambda p: None, lambda p: p.symlink_to(p.parent / "gone")], ids=["deleted", "dangling"]
)
def test_a_missing_study_file_beside_records_is_refused_not_started_afresh(
    workdir: Path, capsys: pytest.CaptureFixture[str], make: Callable[[Path], object]
) -> None:
    manifest = json.loads(json.dumps(MANIFEST))
    manifest["spec"]["parameters"] = [{"name": "z", "type": "int", "low": 1, "high": 3}]
    Path("study.yaml").write_text(json.dumps(manifest))  # another search: must not mix
    before = digests(workdir)
    replace(study_file(workdir), make)
    code, out, err = run_workdir(capsys, workdir)
    assert code == 2 and out == ""
    one_line(err, str(study_file(workdir)), "missing", "trial records")
    assert digests(workdir) == before
    assert not study_file(workdir).exists()


def test_export_json_stays_strict_json_when_a_record_holds_nan_or_infinity(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = first_record(workdir)
    record = json.loads(path.read_text())
    record["status"]["metrics"].update(f1=float("nan"), accuracy=float("inf"))
    path.write_text(json.dumps(record))
    code, out, _ = run(capsys, ["export", "--format", "json"], workdir)
    assert code == 0

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} is not JSON")

    rows = json.loads(out, parse_constant=refuse)
    exported = next(r for r in rows if r["trial"] == path.stem)
    assert exported["metrics"]["f1"] is None and exported["metrics"]["accuracy"] is None


@pytest.mark.parametrize("command", ["show", "report", "insights", "propose"])
def test_a_record_whose_values_would_overflow_a_front_is_refused_in_one_line(
    workdir: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    path = first_record(workdir)
    record = json.loads(path.read_text())
    record["status"]["values"] = [1.7e308 for _ in record["status"]["values"]]
    path.write_text(json.dumps(record))
    code, _, err = run(capsys, [command], workdir)
    assert code == 2 and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1 and path.name in err, err
    assert "status.values[0]: must be at most 1e+150 (got 1.7e+308)" in err, err


@pytest.mark.parametrize("which", ["study.json", "record"])
def test_auto_passes_over_a_broken_earlier_study_it_would_learn_from(
    workdir: Path, capsys: pytest.CaptureFixture[str], which: str
) -> None:
    broken = study_file(workdir) if which == "study.json" else first_record(workdir)
    broken.write_text(nested())
    manifest = json.loads(json.dumps(MANIFEST))
    manifest["metadata"]["name"] = "later"
    manifest["spec"]["algorithm"] = {"name": "auto"}
    manifest["spec"]["budget"] = {"maxTrials": 1}
    Path("later.yaml").write_text(json.dumps(manifest))
    code, _, err = run(capsys, ["run", "later.yaml", "--quiet"])
    assert "Traceback" not in err
    assert code in (0, 1)  # its one trial prints no metrics: it fails, the study ends
    assert (workdir.parent / "later" / "trials" / "later-0000.json").is_file()


@pytest.mark.parametrize("folder", ["trials", "logs"])
def test_a_workdir_folder_that_is_a_file_is_named_by_run(
    workdir: Path, capsys: pytest.CaptureFixture[str], folder: str
) -> None:
    shutil.rmtree(workdir / folder)
    (workdir / folder).write_text("not a folder")
    code, out, err = run_workdir(capsys, workdir)
    assert code == 2 and out == ""
    one_line(err, f"{workdir / folder}: not a directory")

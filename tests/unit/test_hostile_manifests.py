"""Manifests written to hurt the reader: one line naming the problem, fast, flat memory."""

from __future__ import annotations

import resource
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradeoff.api.errors import ManifestError
from tradeoff.api.load import MAX_MANIFEST_BYTES, read_documents
from tradeoff.cli import main

BAD = Path(__file__).parent / "manifests" / "bad"


def test_a_file_larger_than_the_limit_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_bytes(b"a" * (MAX_MANIFEST_BYTES + 1))
    with pytest.raises(ManifestError) as caught:
        read_documents(path)
    assert caught.value.problems == [f"{path}: larger than 3 MiB, the most a manifest may be"]


def test_an_endless_file_is_read_no_further_than_the_limit() -> None:
    start = time.process_time()
    with pytest.raises(ManifestError, match="larger than 3 MiB"):
        read_documents("/dev/zero")
    assert time.process_time() - start < 5


def test_an_alias_bomb_is_refused_in_bounded_time_and_memory(
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.process_time()
    assert main(["validate", str(BAD / "yaml-alias-bomb.yaml")]) == 2
    assert time.process_time() - start < 5
    # The bomb expands to 435 million values: growing by 100 MiB would mean it went off.
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100 * 1024
    assert "aliases expand the document" in capsys.readouterr().err


def test_anchors_aliases_and_merge_keys_of_ordinary_size_still_read(tmp_path: Path) -> None:
    path = tmp_path / "anchors.yaml"
    path.write_text(
        "base: &base {cpu: '1', memory: 1Gi}\n"
        "a: *base\n"
        "b: {<<: *base, memory: 2Gi}\n"
        "list: &l [1, 2, 3]\n"
        "more: [*l, *l, *l]\n"
    )
    [document] = read_documents(path)
    assert document["a"] == {"cpu": "1", "memory": "1Gi"}
    assert document["b"] == {"cpu": "1", "memory": "2Gi"}
    assert document["more"] == [[1, 2, 3]] * 3


def test_a_key_given_twice_is_refused_even_through_a_merge_key_it_is_not(
    tmp_path: Path,
) -> None:
    path = tmp_path / "twice.yaml"
    path.write_text("a: {x: 1, y: 2, x: 3}\n")
    with pytest.raises(ManifestError) as caught:
        read_documents(path)
    assert caught.value.problems == [
        f"{path}: line 1, column 17: YAML syntax error: key 'x' is given twice"
    ]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.text(
        alphabet=st.sampled_from(list("[]{}:,-&*!|>'\"#%@`? \n\t0123456789.eE+xyn~<=")),
        max_size=300,
    )
)
def test_any_text_is_read_or_refused_in_one_line(text: str) -> None:
    """Whatever a file holds, reading it gives documents or ManifestError, never another
    exception (a traceback for the user)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "study.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            read_documents(path)
        except ManifestError as exc:
            assert len(exc.problems) == 1
            assert "\n" not in exc.problems[0]


def test_a_million_nested_brackets_are_refused_not_a_crash(tmp_path: Path) -> None:
    """libyaml's composer recurses in C: a million brackets killed the process (SIGSEGV)."""
    path = tmp_path / "deep.yaml"
    path.write_text("a: " + "[" * 1_000_000 + "]" * 1_000_000 + "\n")
    with pytest.raises(ManifestError) as caught:
        read_documents(path)
    assert caught.value.problems == [
        f"{path}: line 1, column 103: YAML syntax error: nested more than 100 levels deep"
    ]


def test_a_large_manifest_is_read_at_libyaml_speed(tmp_path: Path) -> None:
    """A 2 MB manifest (20,000 parameters) took 15 s of CPU with the pure-Python parser."""
    path = tmp_path / "large.yaml"
    path.write_text(
        "values:\n"
        + "".join(f"  - {{name: p{i}, type: float, low: 0, high: 1}}\n" for i in range(20_000))
    )
    start = time.process_time()
    [document] = read_documents(path)
    assert len(document["values"]) == 20_000
    assert time.process_time() - start < 5


@pytest.mark.parametrize("key", ["a\rb", "a\nb", "x" * 1000], ids=["cr", "lf", "long"])
def test_a_field_name_with_line_breaks_or_of_any_length_is_named_in_one_short_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], key: str
) -> None:
    """An unknown field is named in the error: its name is the author's, so it is quoted,
    escaped and cut rather than printed as it is."""
    path = tmp_path / "study.yaml"
    doc = (Path(__file__).parents[2] / "examples" / "quickstart.yaml").read_text()
    path.write_text(doc.replace("spec:\n", f"spec:\n  {key!r}: 1\n".replace("'", '"'), 1))
    assert main(["validate", str(path)]) == 2
    _, err = capsys.readouterr()
    (line,) = err.strip().splitlines()
    assert "unknown field" in line and len(line) < 300, line

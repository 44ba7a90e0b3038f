"""Config files with every kind of error: ``sightline analyze --config``
prints exactly one clear line naming the file, the key and the fix, exits
with status 2, and never shows a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sightline import cli

ZONE = "zones: [{id: lawn, points: [[0, 0.5], [1, 0.5], [1, 1]]}]\n"
CASES: dict[str, tuple[str | bytes, list[str]]] = {
    "yaml syntax": (
        "zones:\n  - id: a\n   points: [[0, 0]\n",
        ["not valid YAML at line", "check indentation"],
    ),
    "not utf-8": (b"camera_id: \xff\xfe\n", ["not UTF-8 text", "save the file as UTF-8"]),
    "top level list": ("- camera_id: x\n", ["the top level must be a mapping"]),
    "unknown key": ("sampling: {fsp: 2}\n", ["sampling.fsp: unknown key", "check the spelling"]),
    "unknown rule key": (
        ZONE + "rules: [{type: sightline/zone_intrusion@v1, id: r, zone: lawn, colour: red}]\n",
        ["rules.0.colour: unknown key"],
    ),
    "wrong type": ("sampling: {fps: fast}\n", ["sampling.fps:", "valid number"]),
    "wrong container type": ("rules: 5\n", ["rules: Input should be a valid list"]),
    "out of range": ("detector: {confidence: 1.5}\n", ["detector.confidence:", "less than 1"]),
    "point outside frame": (
        "zones: [{id: z, points: [[0, 0], [1.2, 0], [1, 1]]}]\n",
        ["zones.0.points", "outside the frame"],
    ),
    "self-crossing zone": (
        "zones: [{id: z, points: [[0, 0], [1, 1], [1, 0], [0, 1]]}]\n",
        ["zones.0: zone 'z' crosses itself", "list the points in order"],
    ),
    "bad point": (
        "zones: [{id: z, points: [[0, 0, 1], [1, 0], [1, 1]]}]\n",
        ["zones.0.points.0:", "at most 2"],
    ),
    "zero-length line": (
        "lines: [{id: l, start: [0.5, 0.5], end: [0.5, 0.5]}]\n",
        ["line 'l' has zero length"],
    ),
    "unknown rule": (
        "rules: [{type: sightline/teleport@v1, id: r}]\n",
        ["rules.0.type: unknown rule type 'sightline/teleport@v1'", "sightline/zone_intrusion@v1"],
    ),
    "rule without type": (
        ZONE + "rules: [{id: r, zone: lawn}]\n",
        ["rules.0.type: the rule has no 'type'; use one of"],
    ),
    "undefined zone": (
        ZONE + "rules: [{type: sightline/zone_intrusion@v1, id: r, zone: lawns}]\n",
        ["refers to zone 'lawns'", "defined: ['lawn']"],
    ),
    "unknown class": ("detector: {classes: [persn]}\n", ["detector.classes: unknown class(es) ['persn']"]),
    "unset env var": ("camera_id: ${SIGHTLINE_TEST_UNSET_VAR}\n", ["SIGHTLINE_TEST_UNSET_VAR is not set"]),
}


@pytest.mark.parametrize("case", [c for c, (_, expect) in CASES.items() if expect])
def test_each_config_error_gives_one_clear_line(
    case: str, tmp_path: Path, vtest_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    content, expected = CASES[case]
    config = tmp_path / "bad.yaml"
    config.write_bytes(content if isinstance(content, bytes) else content.encode())
    code = cli.main(["analyze", str(vtest_path), "--config", str(config), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one message, got:\n{err}"
    assert lines[0].startswith(f"sightline: error: {config}"), lines[0]
    for part in expected:
        assert part in lines[0], f"{part!r} missing from: {lines[0]}"
    assert "Traceback" not in err and not (tmp_path / "out").exists()


def test_missing_or_unreadable_config(
    tmp_path: Path, vtest_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["analyze", str(vtest_path), "--config", str(tmp_path / "nope.yaml")]) == 2
    assert "no such config file" in capsys.readouterr().err
    assert cli.main(["analyze", str(vtest_path), "--config", str(tmp_path)]) == 2
    assert "cannot read it (Is a directory)" in capsys.readouterr().err


def test_exit_status_and_no_traceback_from_the_real_command(tmp_path: Path, vtest_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("rules: [{type: sightline/teleport@v1, id: r}]\n")
    proc = subprocess.run(
        [sys.executable, "-m", "sightline.cli", "analyze", str(vtest_path), "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "unknown rule type" in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""

"""credpick scan: every seeded key id is found and masked, no decoy is."""

from __future__ import annotations

import json
import os
import random
import string
from pathlib import Path
from typing import Any

import pytest
import yaml

from credpick import ConfigurationError
from credpick.migrate._scan import DEFAULT_IGNORE, IdKind, ScanFinding, render_scan, scan

ROOT = Path(__file__).resolve().parents[2]
_rng = random.Random(6)  # fixed seed: the same ids every run


def key_id(prefix: str = "AKIA") -> str:
    return prefix + "".join(_rng.choice(string.ascii_uppercase + "234567") for _ in range(16))


def masked(raw: str) -> str:
    return f"{raw[:4]}...{raw[-4:]}"


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, dict[str, tuple[str, int, int]], list[str]]:
    """A project with seeded ids: ``{raw id: (relative path, line, column)}``, and decoys."""
    seeded: dict[str, tuple[str, int, int]] = {}
    decoys: list[str] = []

    def write(rel: str, text: str) -> Path:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    ids = [key_id() for _ in range(9)]
    write("app/settings.py", f"# settings\nAWS_KEY = \"{ids[0]}\"\nOTHER = '{ids[1]}'\n")
    write(".env", f"AWS_ACCESS_KEY_ID={ids[2]}\nAWS_REGION=eu-west-1\n")
    write("deploy/config.yaml", f"aws:\n  access_key_id: {ids[3]}\n")
    write("deploy/creds.json", f'{{"AccessKeyId":"{ids[4]}"}}\n')
    write("home/.aws/credentials", f"[default]\naws_access_key_id = {ids[5]}\n")
    write(
        "logs/env-dump.txt", f"PATH=/usr/bin\nKEY_{ids[6]}\n\tx https://h/?AWSAccessKeyId={ids[7]}&"
    )
    write("last-line-no-newline.txt", ids[8])
    seeded[ids[0]] = ("app/settings.py", 2, 12)
    seeded[ids[1]] = ("app/settings.py", 3, 10)
    seeded[ids[2]] = (".env", 1, 19)
    seeded[ids[3]] = ("deploy/config.yaml", 2, 18)
    seeded[ids[4]] = ("deploy/creds.json", 1, 17)
    seeded[ids[5]] = ("home/.aws/credentials", 2, 21)
    seeded[ids[6]] = ("logs/env-dump.txt", 2, 5)
    seeded[ids[7]] = ("logs/env-dump.txt", 3, 30)
    seeded[ids[8]] = ("last-line-no-newline.txt", 1, 1)

    base = key_id()
    decoys += [
        "X" + base,  # inside a longer run of letters and digits, before
        base + "9",  # ... and after
        base.lower(),  # lower case
        base[:-1],  # 19 characters
        base[:4] + base[4:10].lower() + base[10:],  # mixed case
        "AIDA" + base[4:],  # an IAM user's unique id: names a user, signs nothing
        "AROA" + base[4:],  # a role's unique id
        "ACCA" + base[4:],  # a context-specific credential id: not an access key
        "ANPA" + base[4:],  # a managed policy's id
    ]
    write("src/decoys.txt", "\n".join(f"value: {d}" for d in decoys) + "\n")
    # Ignored directories, binaries and oversized files hold real-looking ids.
    hidden = key_id()
    decoys.append(hidden)
    for folder in (".git", "node_modules/pkg", ".venv/lib", "src/__pycache__"):
        write(f"{folder}/leak.txt", f"{hidden}\n")
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "tool").write_bytes(b"\x7fELF\x00\x01" + hidden.encode() + b"\x00")
    write("data/huge.csv", "x" * 2_000_000 + hidden)
    return tmp_path, seeded, decoys


def test_finds_every_seeded_id_and_no_decoy(tree: tuple[Path, dict[str, Any], list[str]]) -> None:
    root, seeded, decoys = tree
    report = scan([root])
    found = {(f.path, f.line, f.column, f.key_id) for f in report.long_lived}
    expected = {(str(root / p), ln, col, masked(raw)) for raw, (p, ln, col) in seeded.items()}
    assert found == expected
    assert report.exit_code() == 1
    assert not report.of_kind(IdKind.TEMPORARY)
    assert not report.of_kind(IdKind.EXAMPLE)
    rendered = render_scan(report)
    dumped = json.dumps(report.to_dict())
    for raw in [*seeded, *decoys]:
        assert raw not in rendered and raw not in dumped and raw not in repr(report)


def test_binaries_large_files_and_ignored_directories_are_skipped(
    tree: tuple[Path, dict[str, Any], list[str]],
) -> None:
    root, _, _ = tree
    report = scan([root])
    skipped = dict(report.skipped)
    assert skipped[str(root / "bin" / "tool")] == "binary"
    assert skipped[str(root / "data" / "huge.csv")].startswith("larger than")
    for finding in report.findings:
        assert not DEFAULT_IGNORE.intersection(Path(finding.path).relative_to(root).parts)
    # 7 files with ids + the decoys file; ignored folders are never entered.
    assert report.files_scanned == 8
    assert "skipped: 1 binary, 1 larger than 1048576 bytes" in render_scan(report)


def test_a_file_named_explicitly_is_read_even_in_an_ignored_folder(tmp_path: Path) -> None:
    leak = tmp_path / ".git" / "config"
    leak.parent.mkdir()
    raw = key_id()
    leak.write_text(f"[remote]\n  url = https://{raw}@example.invalid/\n")
    report = scan([leak])
    assert [f.where for f in report.long_lived] == [f"{leak}:2:17"]


def test_temporary_and_example_ids_are_reported_apart_and_do_not_fail(tmp_path: Path) -> None:
    asia, abia = key_id("ASIA"), key_id("ABIA")
    text = f"AKIAIOSFODNN7EXAMPLE\nAKIAI44QH8DHBEXAMPLE\n{asia}\n{abia}\n"
    (tmp_path / "README.md").write_text(text)
    report = scan([tmp_path])
    assert [f.key_id for f in report.of_kind(IdKind.TEMPORARY)] == [masked(asia), masked(abia)]
    assert [f.line for f in report.of_kind(IdKind.EXAMPLE)] == [1, 2]
    assert report.exit_code() == 0
    out = render_scan(report)
    assert "0 long-lived key ids found" in out
    assert "AWS documentation examples" in out and "AKIA...MPLE" in out
    assert asia not in out and "AKIAIOSFODNN7EXAMPLE" not in out
    assert report.to_dict()["counts"] == {"long-lived": 0, "temporary": 2, "example": 2}


def test_environment_values_are_scanned_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = key_id()
    monkeypatch.setenv("CI_DEPLOY_KEY", f"id={raw}")
    assert not scan([tmp_path]).findings
    report = scan([tmp_path], include_env=True)
    assert [(f.where, f.key_id) for f in report.findings] == [("env:CI_DEPLOY_KEY", masked(raw))]
    injected = scan([], include_env=True, environ={"A": key_id("ASIA")})
    assert [f.kind for f in injected.findings] == [IdKind.TEMPORARY]
    assert injected.exit_code() == 0


def test_a_missing_path_is_an_error_not_a_silent_pass(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no such file"):
        scan([tmp_path / "nope"])


def test_duplicates_and_symlinks_are_read_once(tmp_path: Path) -> None:
    raw = key_id()
    (tmp_path / "a.txt").write_text(raw)
    (tmp_path / "link.txt").symlink_to(tmp_path / "a.txt")
    report = scan([tmp_path, tmp_path / "a.txt"])
    assert len(report.findings) == 1
    assert report.skipped == ((str(tmp_path / "link.txt"), "symlink"),)


def test_a_single_path_and_special_files(tmp_path: Path) -> None:
    raw = key_id()
    (tmp_path / "a.txt").write_text(raw)
    os.mkfifo(tmp_path / "pipe")  # opening it would block forever
    report = scan(str(tmp_path))  # one path, not an iterable of characters
    assert [f.key_id for f in report.findings] == [masked(raw)]
    assert report.skipped == ((str(tmp_path / "pipe"), "not a regular file"),)
    assert report.failed == () and report.exit_code() == 1
    named = scan(tmp_path / "pipe")  # named, it is a file the scan could not read
    assert (named.skipped, named.failed) == ((), report.skipped)
    assert named.exit_code() == 4


def test_a_named_file_that_is_not_read_fails_the_scan(tmp_path: Path) -> None:
    raw = key_id()
    big = tmp_path / "big.env"
    big.write_text("x" * 2000 + f"\nAWS_ACCESS_KEY_ID={raw}\n")
    (tmp_path / "image.png").write_bytes(b"\x89PNG\0\0")
    report = scan([big, tmp_path / "image.png"], max_bytes=1000)
    assert report.failed == ((str(big), "larger than 1000 bytes"),)
    assert report.skipped == ((str(tmp_path / "image.png"), "binary"),)  # read: it is binary
    assert report.files_scanned == 0 and report.exit_code() == 4
    data = report.to_dict()
    assert data["failed"] == [{"path": str(big), "reason": "larger than 1000 bytes"}]
    text = render_scan(report)
    assert text.splitlines()[0].endswith("; 1 named file not read")
    assert f"not read: {big}: larger than 1000 bytes" in text.splitlines()
    assert "--max-bytes" in text
    # Met while walking a directory, the same file is skipped, as before.
    walked = scan([tmp_path], max_bytes=1000)
    assert walked.failed == () and walked.exit_code() == 0
    assert dict(walked.skipped)[str(big)] == "larger than 1000 bytes"
    # Under a higher limit it is read, and its key found.
    found = scan([big], max_bytes=10_000)
    assert found.failed == () and [f.key_id for f in found.findings] == [masked(raw)]
    assert found.exit_code() == 1


def test_findings_never_hold_a_raw_id() -> None:
    raw = key_id()
    finding = ScanFinding(path="x", line=1, column=1, key_id=raw, kind=IdKind.LONG_LIVED)
    assert finding.key_id == masked(raw)
    assert ScanFinding(path="x", line=1, column=1, key_id=masked(raw), kind=IdKind.LONG_LIVED) == (
        finding
    )


def test_pre_commit_hook_definition() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    (hook,) = hooks
    assert hook["id"] == "credpick-scan"
    assert hook["entry"] == "credpick scan"
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is True

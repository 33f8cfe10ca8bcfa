"""Profile-based sources: assume-role, credential_process, and keys in files."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

import credpick
from credpick import SourceKind, Status

from ..helpers import STATIC_ENV, STATIC_KEY_ID, STATIC_SECRET, assert_no_secret, write


def test_assume_role_from_a_source_profile(
    sts: Any, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(
        home / ".aws" / "credentials",
        f"[base]\naws_access_key_id = {STATIC_KEY_ID}\naws_secret_access_key = {STATIC_SECRET}\n",
    )
    write(
        home / ".aws" / "config",
        "[profile ops]\nrole_arn = arn:aws:iam::123456789012:role/ops\nsource_profile = base\n",
    )
    session = credpick.session(profile_name="ops")
    assert session.get_credentials().method == "assume-role"
    assert "assumed-role/ops" in session.client("sts").get_caller_identity()["Arn"]


def test_source_profile_must_exist(home: Path, make_context: Any) -> None:
    write(
        home / ".aws" / "config",
        "[profile ops]\nrole_arn = arn:aws:iam::1:role/ops\nsource_profile = ghost\n",
    )
    d = credpick.detect(context=make_context({"AWS_PROFILE": "ops"}))
    assert isinstance(d.error, credpick.SourceFailed) and "ghost" in str(d.error)


def test_credential_process(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = write(
        tmp_path / "creds.py",
        "import json\nprint(json.dumps({'Version': 1, 'AccessKeyId': 'ASIAPROCESSEXAMPLE01',"
        " 'SecretAccessKey': 'MARKER-SECRET-process', 'SessionToken': 'MARKER-TOKEN-process',"
        " 'Expiration': '2999-01-01T00:00:00Z'}))\n",
    )
    write(
        home / ".aws" / "config",
        f"[default]\ncredential_process = {sys.executable} {script} --secret-arg\n",
    )
    d = credpick.detect()
    assert d.chosen is not None and d.chosen.kind is SourceKind.CREDENTIAL_PROCESS
    assert "--secret-arg" not in d.explain()  # arguments may carry secrets
    frozen = credpick.session().get_credentials().get_frozen_credentials()
    assert frozen.access_key == "ASIAPROCESSEXAMPLE01"


def test_static_keys_in_the_default_profile_are_ignored_next_to_sso(
    home: Path, make_context: Any
) -> None:
    write(
        home / ".aws" / "credentials",
        f"[default]\naws_access_key_id = {STATIC_KEY_ID}\naws_secret_access_key = {STATIC_SECRET}\n",
    )
    write(
        home / ".aws" / "config",
        "[default]\nsso_start_url = https://x.awsapps.com/start\nsso_region = us-east-1\nsso_account_id = 1\nsso_role_name = r\n",
    )
    d = credpick.detect(context=make_context())
    statuses = {c.kind: c.status for c in d.candidates}
    assert statuses[SourceKind.STATIC] is Status.IGNORED
    assert_no_secret(d.explain(), d.to_dict())


def test_static_keys_from_the_credentials_file_are_used_when_alone(home: Path) -> None:
    write(
        home / ".aws" / "credentials",
        f"[default]\naws_access_key_id = {STATIC_KEY_ID}\naws_secret_access_key = {STATIC_SECRET}\n",
    )
    session = credpick.session()
    assert session.get_credentials().method == "shared-credentials-file"
    d = credpick.detect()
    assert d.chosen is not None and d.chosen.long_lived
    assert "AKIA...MPLE" in d.explain() and STATIC_KEY_ID not in d.explain()


def test_half_a_pair_in_a_file(home: Path) -> None:
    write(home / ".aws" / "credentials", f"[default]\naws_access_key_id = {STATIC_KEY_ID}\n")
    with pytest.raises(credpick.SourceFailed, match="aws_secret_access_key is missing"):
        credpick.session()


def test_forbid_refuses_env_keys_in_session(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in STATIC_ENV.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(credpick.StaticKeysRefused) as info:
        credpick.session(policy=credpick.Policy(static_keys="forbid"))
    assert_no_secret(str(info.value), repr(info.value))
    assert json.dumps(credpick.detect().to_dict())

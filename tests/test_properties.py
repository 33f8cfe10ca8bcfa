"""Property tests: any environment, no secret leaks, only CredpickError."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import credpick
from credpick import Context, Policy

SECRET = "MARKER-SECRET-hypothesis"
TOKEN = "MARKER-TOKEN-hypothesis"

_VARS = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "ECS_CONTAINER_METADATA_URI_V4",
    "AWS_EXECUTION_ENV",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "ACTIONS_ID_TOKEN_REQUEST_URL",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_REGION",
]
_SECRET_VARS = {
    "AWS_SECRET_ACCESS_KEY": SECRET,
    "AWS_SESSION_TOKEN": TOKEN,
    "AWS_SECURITY_TOKEN": TOKEN,
    "AWS_CONTAINER_AUTHORIZATION_TOKEN": TOKEN,
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN": TOKEN,
}
_values = st.one_of(
    st.sampled_from(
        [
            "AKIAIOSFODNN7EXAMPLE",
            "ASIAIOSFODNN7EXAMPLE",
            "",
            "default",
            "dev",
            "/nonexistent",
            "http://127.0.0.1:1/creds",
            "http://169.254.170.23/v1/credentials",
            "http://10.1.2.3/x",
            "https://example.invalid/c",
            "arn:aws:iam::123456789012:role/r",
            "AWS_ECS_FARGATE",
            "a\r\nb",
            "/tmp",
            "fn",
        ]
    ),
    st.text(max_size=30),
)
_ini = st.sampled_from(
    [
        "",
        "[default]\nregion = us-east-1\n",
        "[[[ not ini",
        "[profile dev]\nsso_session = x\n",
        f"[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = {SECRET}\n",
        "[default]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = nope\n",
        "[profile dev]\ncredential_process = /bin/false --token " + TOKEN + "\n",
        f"[default]\naws_secret_access_key = {SECRET}\n",
    ]
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    env=st.dictionaries(st.sampled_from(_VARS), _values, max_size=8),
    config=_ini,
    credentials=_ini,
    static_keys=st.sampled_from(["refuse-when-role", "forbid", "allow"]),
    profile=st.one_of(st.none(), st.sampled_from(["dev", "default", "ghost"])),
)
def test_random_environments_never_leak_and_only_raise_credpick_errors(
    tmp_path: Path,
    env: dict[str, str],
    config: str,
    credentials: str,
    static_keys: Any,
    profile: str | None,
) -> None:
    env = {k: _SECRET_VARS.get(k, v) if v else v for k, v in env.items()}
    env["AWS_EC2_METADATA_DISABLED"] = "true"  # never probe a real address
    (tmp_path / "config").write_text(config)
    (tmp_path / "credentials").write_text(credentials)
    env["AWS_CONFIG_FILE"] = str(tmp_path / "config")
    env["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp_path / "credentials")
    ctx = Context(env=env, home=tmp_path, root=tmp_path)
    detection = credpick.detect(
        context=ctx, policy=Policy(static_keys=static_keys), profile_name=profile
    )
    outputs = [detection.explain(), json.dumps(detection.to_dict()), repr(detection), repr(ctx)]
    if detection.error is not None:
        assert isinstance(detection.error, credpick.CredpickError)
        outputs += [str(detection.error), repr(detection.error)]
    for text in outputs:
        assert SECRET not in text and TOKEN not in text
        assert "AKIAIOSFODNN7EXAMPLE" not in text and "ASIAIOSFODNN7EXAMPLE" not in text

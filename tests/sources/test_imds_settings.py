"""The instance-metadata settings, read as botocore reads them, side by side with it.

Each setting comes from its variable, else the active profile in the config file;
credpick and plain botocore are pointed at the same loopback emulator and must
agree, except where docs/settings.md says credpick differs on purpose.
"""

from __future__ import annotations

import http.client
from typing import Any

import botocore.exceptions
import botocore.session
import pytest
from botocore.utils import InstanceMetadataFetcher

import credpick
from credpick import ConfigurationError, Policy, SourceKind, Status, Timeouts
from credpick.sources import _imds_http
from credpick.sources import imds as imds_source
from credpick.sources._imds_settings import settings
from credpick.testing import ImdsEmulator, Simulation
from credpick.testing._faults import Fault, FaultyEndpoint
from credpick.testing._server import text_response

from ..helpers import write

ENDPOINT = "AWS_EC2_METADATA_SERVICE_ENDPOINT"
MODE = "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"
ATTEMPTS = "AWS_METADATA_SERVICE_NUM_ATTEMPTS"
FAST = Timeouts(imds_connect=0.25, imds_read=0.5)


@pytest.fixture
def sim(credpick_runtime: Simulation) -> Simulation:
    return credpick_runtime


def _instance(sim: Simulation, **options: Any) -> ImdsEmulator:
    emulator = sim.use("ec2-instance-profile", **options).emulator
    assert isinstance(emulator, ImdsEmulator)
    return emulator


def _profile(sim: Simulation, **keys: str) -> None:
    lines = "".join(f"{k} = {v}\n" for k, v in keys.items())
    write(sim.config_file, f"[default]\n{lines}")


def _botocore_key() -> str | None:
    creds = botocore.session.Session().get_credentials()
    return None if creds is None else creds.get_frozen_credentials().access_key


def _credpick_key(**kwargs: Any) -> str:
    frozen = credpick.session(timeouts=FAST, **kwargs).get_credentials()
    return str(frozen.get_frozen_credentials().access_key)


# -- the endpoint and its mode ------------------------------------------------------


def test_the_config_files_endpoint_is_used_like_botocore(
    sim: Simulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    imds = _instance(sim)
    monkeypatch.delenv(ENDPOINT)
    _profile(sim, ec2_metadata_service_endpoint=imds.endpoint)
    expected = imds.credentials.access_key_id
    assert _botocore_key() == expected
    imds.clear_requests()
    assert _credpick_key() == expected
    assert imds.requests, "credpick did not ask the configured endpoint"
    d = credpick.detect()
    assert d.chosen is not None and d.chosen.kind is SourceKind.EC2_INSTANCE_PROFILE
    assert any(imds.endpoint.rstrip("/") in line for line in d.looked)


def test_the_variable_beats_the_config_file(
    sim: Simulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    imds = _instance(sim)
    _profile(sim, ec2_metadata_service_endpoint="http://127.0.0.1:9/")
    assert _credpick_key() == imds.credentials.access_key_id == _botocore_key()


def test_a_config_file_endpoint_that_fails_names_its_key(
    sim: Simulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    from credpick.testing import refusing_endpoint

    _instance(sim)
    monkeypatch.delenv(ENDPOINT)
    _profile(sim, ec2_metadata_service_endpoint=refusing_endpoint())
    d = credpick.detect(timeouts=FAST)
    assert isinstance(d.error, credpick.SourceFailed)
    assert "ec2_metadata_service_endpoint in profile 'default'" in str(d.error)


@pytest.mark.parametrize(
    ("env", "keys", "expected"),
    [
        ({MODE: "IPv6"}, {}, imds_source.IPV6_ENDPOINT),
        ({MODE: "ipv4"}, {}, imds_source.DEFAULT_ENDPOINT),
        ({}, {"ec2_metadata_service_endpoint_mode": "IPv6"}, imds_source.IPV6_ENDPOINT),
        ({"AWS_IMDS_USE_IPV6": "true"}, {}, imds_source.IPV6_ENDPOINT),
        ({}, {"imds_use_ipv6": "true"}, imds_source.IPV6_ENDPOINT),
        # The mode beats imds_use_ipv6, as in botocore.
        ({MODE: "IPv4", "AWS_IMDS_USE_IPV6": "true"}, {}, imds_source.DEFAULT_ENDPOINT),
        # A custom endpoint beats the mode.
        ({MODE: "IPv6", ENDPOINT: "http://127.0.0.1:9"}, {}, "http://127.0.0.1:9/"),
    ],
)
def test_the_endpoint_botocore_would_use(
    sim: Simulation,
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    keys: dict[str, str],
    expected: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    _profile(sim, **keys)
    ctx = credpick.Context.from_process()
    assert imds_source.endpoint(ctx) == expected
    bs = botocore.session.Session()
    from botocore.utils import resolve_imds_endpoint_mode

    config = {
        "ec2_metadata_service_endpoint": bs.get_config_variable("ec2_metadata_service_endpoint"),
        "ec2_metadata_service_endpoint_mode": resolve_imds_endpoint_mode(bs),
    }
    theirs = InstanceMetadataFetcher(config=config).get_base_url()
    assert theirs.rstrip("/") == expected.rstrip("/")


@pytest.mark.parametrize("where", ["variable", "config file"])
@pytest.mark.parametrize("mode", ["IPv7", "error", "v6"])
def test_a_bad_mode_is_a_configuration_error_as_in_botocore(
    sim: Simulation, monkeypatch: pytest.MonkeyPatch, where: str, mode: str
) -> None:
    _instance(sim)
    if where == "variable":
        monkeypatch.setenv(MODE, mode)
        named = MODE
    else:
        _profile(sim, ec2_metadata_service_endpoint_mode=mode)
        named = "ec2_metadata_service_endpoint_mode in profile 'default'"
    monkeypatch.delenv(ENDPOINT)
    d = credpick.detect(timeouts=FAST)
    assert isinstance(d.error, ConfigurationError)
    assert named in d.error.reason and repr(mode) in d.error.reason
    assert "IPv4 or IPv6" in (d.error.fix or "")
    with pytest.raises(ConfigurationError):
        credpick.session(timeouts=FAST)
    from botocore.utils import resolve_imds_endpoint_mode

    with pytest.raises(botocore.exceptions.InvalidIMDSEndpointModeError):
        resolve_imds_endpoint_mode(botocore.session.Session())


@pytest.mark.parametrize(
    "value", [":99999", "http://[::1/", "http://127.0.0.1:abc/", "ftp://127.0.0.1/", "http://"]
)
def test_a_malformed_endpoint_is_a_configuration_error_naming_the_variable(
    sim: Simulation, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    _instance(sim)
    monkeypatch.setenv(ENDPOINT, value)
    d = credpick.detect(timeouts=FAST)  # reported, never raised
    assert isinstance(d.error, ConfigurationError)
    assert d.error.reason.startswith(ENDPOINT)
    assert d.error.fix


def test_an_ipv6_endpoint_keeps_its_brackets(monkeypatch: pytest.MonkeyPatch) -> None:
    # http.client reads "fd00:ec2::254" with no port as host "fd00:ec2:" port 254.
    asked: list[tuple[Any, ...]] = []

    def connect(address: tuple[str, int], *args: Any, **kwargs: Any) -> Any:
        asked.append(address)
        raise ConnectionRefusedError

    monkeypatch.setattr(http.client.socket, "create_connection", connect)
    with _imds_http.Connection(
        imds_source.IPV6_ENDPOINT, connect_timeout=0.1, deadline=0.1
    ) as conn:
        got = conn.request("PUT", "/latest/api/token", {}, cap=100)
    assert isinstance(got, _imds_http.Failure) and got.what == _imds_http.REFUSED
    assert asked == [("fd00:ec2::254", 80)]


# -- attempts and timeout -----------------------------------------------------------


def _behind_faults(sim: Simulation, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    imds = _instance(sim)
    front = FaultyEndpoint(imds).start()
    monkeypatch.setenv(ENDPOINT, front.url)
    return imds, front


@pytest.mark.parametrize("status", [500, 503, 429])
def test_one_transient_reply_does_not_cost_the_credentials(
    sim: Simulation, monkeypatch: pytest.MonkeyPatch, status: int
) -> None:
    imds, front = _behind_faults(sim, monkeypatch)
    with front:
        front.inject(Fault(text_response(status, "busy"), times=2))
        assert _credpick_key() == imds.credentials.access_key_id


def test_a_lasting_5xx_still_fails_closed_beside_a_stray_key(
    sim: Simulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, front = _behind_faults(sim, monkeypatch)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFAKE7PXT3NGU0HWI")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "fake-secret-for-the-test")
    with front:
        front.inject(Fault(text_response(503, "busy")))
        with pytest.raises(credpick.SourceFailed) as info:
            credpick.session(timeouts=FAST)
    assert info.value.kind == "ec2-instance-profile"
    assert "503" in str(info.value)


@pytest.mark.parametrize("where", ["variable", "config file"])
def test_num_attempts_one_means_one_try_as_in_botocore(
    sim: Simulation, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    _, front = _behind_faults(sim, monkeypatch)
    if where == "variable":
        monkeypatch.setenv(ATTEMPTS, "1")
    else:
        _profile(sim, metadata_service_num_attempts="1")
    with front:
        front.inject(Fault(text_response(503, "busy"), times=1))
        d = credpick.detect(timeouts=FAST)
    assert d.chosen is None or d.chosen.status is not Status.CHOSEN or d.error is not None
    assert isinstance(d.error, credpick.SourceFailed)
    assert settings(credpick.Context.from_process()).attempts == 1


def test_num_attempts_tries_a_timeout_again(
    sim: Simulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    from credpick.testing._server import Hang

    imds, front = _behind_faults(sim, monkeypatch)
    monkeypatch.setenv(ATTEMPTS, "2")
    with front:
        front.inject(Fault(Hang.HANG, times=1))
        assert _credpick_key() == imds.credentials.access_key_id


def test_the_timeout_setting_is_each_requests_deadline(
    sim: Simulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    from credpick.testing._server import Hang

    _, front = _behind_faults(sim, monkeypatch)
    monkeypatch.setenv("AWS_METADATA_SERVICE_TIMEOUT", "0.3")
    with front:
        front.inject(Fault(Hang.HANG))
        d = credpick.detect()
    assert d.error is not None
    assert "within 0.3 s" in str(d.error)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        (ATTEMPTS, "0"),
        (ATTEMPTS, "x"),
        (ATTEMPTS, "11"),
        (ATTEMPTS, "1.5"),
        ("AWS_METADATA_SERVICE_TIMEOUT", "-1"),
        ("AWS_METADATA_SERVICE_TIMEOUT", "nan"),
        ("AWS_METADATA_SERVICE_TIMEOUT", "forever"),
        ("AWS_IMDS_USE_IPV6", "yes"),
        ("AWS_EC2_METADATA_V1_DISABLED", "1"),
    ],
)
def test_a_bad_number_or_flag_names_its_variable(
    sim: Simulation, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    _instance(sim)
    monkeypatch.setenv(name, value)
    d = credpick.detect(timeouts=FAST)
    assert isinstance(d.error, ConfigurationError)
    assert d.error.reason.startswith(name) and repr(value) in d.error.reason


# -- IMDSv1 ----------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["variable", "config file"])
def test_v1_disabled_beats_allow_imdsv1(
    sim: Simulation, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    _instance(sim, mode="imdsv1-only")
    if where == "variable":
        monkeypatch.setenv("AWS_EC2_METADATA_V1_DISABLED", "true")
    else:
        _profile(sim, ec2_metadata_v1_disabled="true")
    d = credpick.detect(policy=Policy(allow_imdsv1=True), timeouts=FAST)
    assert d.chosen is None or d.chosen.status is not Status.CHOSEN
    assert isinstance(d.error, credpick.SourceFailed)
    assert "IMDSv1" in str(d.error)
    # botocore refuses the tokenless fallback too.
    with pytest.raises(
        botocore.exceptions.MetadataRetrievalError, match="IMDSv1 has been disabled"
    ):
        _botocore_key()


def test_without_v1_disabled_allow_imdsv1_still_works(sim: Simulation) -> None:
    imds = _instance(sim, mode="imdsv1-only")
    d = credpick.detect(policy=Policy(allow_imdsv1=True), timeouts=FAST)
    assert d.error is None
    key = credpick.session(policy=Policy(allow_imdsv1=True), timeouts=FAST)
    assert key.get_credentials().get_frozen_credentials().access_key == (
        imds.credentials.access_key_id
    )


@pytest.mark.parametrize("where", ["variable", "config file"])
def test_the_timeout_and_attempts_read_as_botocore_reads_them(
    sim: Simulation, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    if where == "variable":
        monkeypatch.setenv("AWS_METADATA_SERVICE_TIMEOUT", "2")
        monkeypatch.setenv(ATTEMPTS, "4")
    else:
        _profile(sim, metadata_service_timeout="2", metadata_service_num_attempts="4")
    ours = settings(credpick.Context.from_process())
    bs = botocore.session.Session()
    assert ours.deadline == bs.get_config_variable("metadata_service_timeout") == 2
    assert ours.attempts == bs.get_config_variable("metadata_service_num_attempts") == 4
    assert ours.attempts_set

"""What credpick.guard costs per request, against the same client unguarded.

Both clients sign every request for real (SigV4, with temporary-looking fake
keys); a ``before-send`` stub answers instead of the network, so the numbers
are botocore's own per-request work with and without the guard's check.
Nothing leaves the process: the endpoint is 127.0.0.1 and is never dialled.

    python benchmarks/guard_overhead.py            # full run, ~20 s
    python benchmarks/guard_overhead.py --quick    # smoke run for the tests
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse

import credpick

_BODY = (
    b'<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
    b"<GetCallerIdentityResult><Arn>arn:aws:sts::123456789012:assumed-role/bench/x</Arn>"
    b"<UserId>AROAEXAMPLE:x</UserId><Account>123456789012</Account></GetCallerIdentityResult>"
    b"<ResponseMetadata><RequestId>bench</RequestId></ResponseMetadata>"
    b"</GetCallerIdentityResponse>"
)


class _Raw:
    def stream(self, **_: Any) -> Any:
        yield _BODY


def _answer(**_: Any) -> AWSResponse:
    return AWSResponse("http://127.0.0.1:9/", 200, {}, _Raw())


def _client(guarded: bool) -> Any:
    session = boto3.Session(
        aws_access_key_id="ASIABENCHMARKEXAMPLE",
        aws_secret_access_key="not-a-secret-benchmark-only",
        aws_session_token="not-a-token-benchmark-only",
        region_name="us-east-1",
    )
    if guarded:
        credpick.guard(session)
    client = session.client("sts", endpoint_url="http://127.0.0.1:9")
    client.meta.events.register("before-send", _answer)
    return client


def _per_request_ns(client: Any, calls: int) -> float:
    start = time.perf_counter_ns()
    for _ in range(calls):
        client.get_caller_identity()
    return (time.perf_counter_ns() - start) / calls


def _refreshable() -> Any:
    """Credentials as credpick's sessions hold them: refreshable, far from expiry."""
    import datetime as dt

    from botocore.credentials import RefreshableCredentials

    expiry = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=6)
    metadata = {
        "access_key": "ASIABENCHMARKEXAMPLE",
        "secret_key": "not-a-secret-benchmark-only",
        "token": "not-a-token-benchmark-only",
        "expiry_time": expiry.isoformat(),
    }
    return RefreshableCredentials.create_from_metadata(
        metadata, refresh_using=lambda: metadata, method="iam-role"
    )


def _handler_ns(calls: int, refreshable: bool) -> float:
    """The guard's handler alone, as botocore calls it on a cached identity."""
    from credpick._request_guard import _Guard

    client = _client(guarded=False)
    if refreshable:
        client._request_signer._credentials = _refreshable()
    handler = _Guard(credpick.Policy(), None)  # the signer holds the credentials
    kwargs = {
        "request": None,
        "request_signer": client._request_signer,
        "signature_version": "v4",
        "operation_name": "GetCallerIdentity",
        "event_name": "before-sign.sts.GetCallerIdentity",
    }
    handler(**kwargs)  # the one uncached decision
    start = time.perf_counter_ns()
    for _ in range(calls):
        handler(**kwargs)
    return (time.perf_counter_ns() - start) / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--quick", action="store_true", help="3 rounds of 20 calls")
    args = parser.parse_args()
    rounds, calls = (3, 20) if args.quick else (args.rounds, args.calls)
    # A second unguarded client is the control: its difference is the noise.
    clients = {
        "unguarded": _client(guarded=False),
        "control": _client(guarded=False),
        "guarded": _client(guarded=True),
    }
    for client in clients.values():  # warm up: endpoint resolution, first decision
        _per_request_ns(client, 20)
    samples: dict[str, list[float]] = {name: [] for name in clients}
    order = list(clients)
    for n in range(rounds):  # short interleaved rounds, rotated, so drift hits all alike
        for name in order[n % 3 :] + order[: n % 3]:
            samples[name].append(_per_request_ns(clients[name], calls))
    base = samples["unguarded"]
    print(f"unguarded  median {statistics.median(base):>10.0f} ns/request ({rounds} x {calls})")
    for name in ("control", "guarded"):
        paired = statistics.median(x - b for x, b in zip(samples[name], base, strict=True))
        print(
            f"{name:<10} median {statistics.median(samples[name]):>10.0f} ns/request, "
            f"paired difference {paired:+.0f} ns"
        )
    for kind in ("plain", "refreshable"):
        ns = statistics.median(_handler_ns(calls * 100, kind == "refreshable") for _ in range(5))
        print(f"handler    median {ns:>10.0f} ns/call ({kind} credentials, cached decision)")


if __name__ == "__main__":
    main()

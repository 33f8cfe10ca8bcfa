"""Keys in the legacy files botocore still reads, after every profile source.

* ``AWS_CREDENTIAL_FILE``: the old EC2 CLI tools' file of ``AWSAccessKeyId=``
  and ``AWSSecretKey=`` lines (botocore's ``OriginalEC2Provider``, method
  ``ec2-credentials-file``).
* The boto2 config files: ``BOTO_CONFIG`` if set, else ``/etc/boto.cfg`` then
  ``~/.boto``, each with a ``[Credentials]`` section (botocore's
  ``BotoProvider``, method ``boto-config``).

Neither file can hold a session token, so every key found is long-lived. Each
file is read through :mod:`credpick._safe_io`; only non-secret facts (the
masked id, whether a secret is there, why the file is unusable) leave the
helper that read it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .. import _files, _safe_io
from .._context import Context
from .._mask import mask_key_id

if TYPE_CHECKING:
    from ._legacy_key import LegacyKey

EC2_VARIABLE = "AWS_CREDENTIAL_FILE"
BOTO_VARIABLE = "BOTO_CONFIG"
EC2_METHOD = "ec2-credentials-file"
BOTO_METHOD = "boto-config"


def _ec2_facts(path: Path) -> tuple[str | None, bool, str | None]:
    """Masked id, whether a secret is there, the problem. Parsed as botocore's
    ``parse_key_val_file_contents`` does; the text stays in this frame."""
    try:
        text = _safe_io.read_text(path, limit=_safe_io.SHARED_FILE)
    except _safe_io.FileProblem as problem:
        return None, False, problem.reason
    values: dict[str, str] = {}
    for line in text.splitlines():
        if "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    key_id = values.get("AWSAccessKeyId")
    return (mask_key_id(key_id) if key_id else None), "AWSSecretKey" in values, None


def ec2_file(ctx: Context) -> LegacyKey | None:
    """The key in ``AWS_CREDENTIAL_FILE``, or ``None`` when it is unset.

    botocore raises when the variable names a file that cannot be read, so
    does credpick: a missing file is a problem, not an absence."""
    name = ctx.get(EC2_VARIABLE)
    if not name:
        return None
    path = ctx.expand(name)
    key_id, has_secret, problem = _ec2_facts(path)
    if problem is None and key_id is None and not has_secret:
        return None  # botocore skips a file without AWSAccessKeyId
    from ._legacy_key import LegacyKey  # only where a legacy file has a key

    return LegacyKey(
        path, EC2_METHOD, "AWSAccessKeyId", key_id, has_secret, problem, f"{EC2_VARIABLE}"
    )


def _boto_facts(path: Path) -> tuple[str | None, bool, str | None] | None:
    """Masked id, whether a secret is there, the problem; ``None`` when the
    file is absent or has no key. The parsed values stay in this frame."""
    parsed = _files._parse_text(path)
    if isinstance(parsed, str):
        return (None, False, parsed) if parsed else None
    section = parsed.get("Credentials", {})
    key_id = section.get("aws_access_key_id")
    has_secret = bool(section.get("aws_secret_access_key"))
    if not key_id and not has_secret:
        return None
    return (mask_key_id(str(key_id)) if key_id else None), has_secret, None


def boto_files(ctx: Context) -> list[LegacyKey]:
    """Keys in ``BOTO_CONFIG``, or else ``/etc/boto.cfg`` (under the context's
    root) and ``~/.boto`` (under its home), in botocore's order."""
    given = ctx.get(BOTO_VARIABLE)
    if given:
        places = [(ctx.expand(given), BOTO_VARIABLE)]
    else:
        places = [
            (ctx.root / "etc" / "boto.cfg", "the default location"),
            (ctx.home / ".boto", "the default location"),
        ]
    found = []
    for path, via in places:
        facts = _boto_facts(path)
        if facts is not None:
            from ._legacy_key import LegacyKey  # only where a legacy file has a key

            found.append(LegacyKey(path, BOTO_METHOD, "aws_access_key_id", *facts, via))
    return found


def find(ctx: Context) -> list[LegacyKey]:
    """Every legacy key, in the order botocore's chain reads them."""
    ec2 = ec2_file(ctx)
    return ([ec2] if ec2 else []) + boto_files(ctx)

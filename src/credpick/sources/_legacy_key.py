"""What a legacy file holds, as a value: created only where one has a key.

Most processes have no ``AWS_CREDENTIAL_FILE`` and no boto2 config file, so
:mod:`._legacy` (which always looks) imports this class only when it has
something to report: creating an attrs class costs about half a millisecond
of every cold start.
"""

from __future__ import annotations

from pathlib import Path

import attrs


@attrs.frozen
class LegacyKey:
    """A key (or half of one, or an unusable file) seen in a legacy file.

    Attributes:
        path: The file.
        store: ``"ec2-credentials-file"`` or ``"boto-config"`` (botocore's method).
        id_name: The key id's name in that file, for evidence and errors.
        key_id: The masked key id, if the file has one.
        has_secret: Whether the file has the secret key.
        problem: Why the file cannot be used (follows "which"), if it cannot.
        via: How the file was found: the variable, or "the default location".
    """

    path: Path
    store: str
    id_name: str
    key_id: str | None
    has_secret: bool
    problem: str | None
    via: str

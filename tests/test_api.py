"""The public surface: pinned, so a change to it is a deliberate one."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

import credpick
from credpick import exceptions


def test_all_is_the_public_surface() -> None:
    assert sorted(credpick.__all__) == credpick.__all__
    # What picking credentials needs; the migration toolkit is credpick.migrate's.
    assert set(credpick.__all__) == {
        "AssumeRole", "Candidate", "ConfigurationError", "Context", "CredpickError",
        "Detection", "NoCredentialsFound", "Policy", "PolicyViolation", "SourceFailed",
        "SourceKind", "StaticKeysRefused", "Status", "Timeouts", "__version__", "detect", "guard",
        "session", "wrap", "Provenance", "Root", "Link", "RootKind", "LinkKind",
    }  # fmt: skip


def test_the_provenance_types_are_the_ones_candidates_carry() -> None:
    from credpick._link import Link, LinkKind
    from credpick._model import Provenance, Root, RootKind

    assert (credpick.Provenance, credpick.Root, credpick.Link) == (Provenance, Root, Link)
    assert (credpick.RootKind, credpick.LinkKind) == (RootKind, LinkKind)
    assert credpick.SourceKind is credpick._model.SourceKind


MIGRATE = [
    "AuditReport", "Flag", "IdKind", "KeyFinding", "ScanFinding", "ScanReport", "audit",
    "render_audit", "render_scan", "scan",
]  # fmt: skip


def test_migrate_all_is_the_migration_toolkit() -> None:
    import credpick.migrate

    assert credpick.migrate.__all__ == MIGRATE  # sorted, and exactly these
    assert set(dir(credpick.migrate)) == set(MIGRATE)
    with pytest.raises(AttributeError, match="no attribute 'session'"):
        credpick.migrate.session  # noqa: B018


def test_the_old_names_still_resolve_to_the_same_objects() -> None:
    import credpick.migrate

    for name in MIGRATE:
        assert getattr(credpick, name) is getattr(credpick.migrate, name), name
        assert name not in credpick.__all__
    from credpick._chain import AssumeRole
    from credpick._policy import Policy, StaticKeys
    from credpick._report import explain, shown, to_dict

    assert AssumeRole is credpick.AssumeRole and Policy is credpick.Policy
    assert StaticKeys is not None and explain and shown and to_dict


def test_the_migration_toolkit_is_imported_only_when_used() -> None:
    import subprocess
    import sys

    code = (
        "import sys, credpick, credpick.migrate; before = set(sys.modules); credpick.scan; "
        "print('credpick.migrate._audit' in before, 'credpick.migrate._scan' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


def test_error_tree() -> None:
    assert issubclass(credpick.StaticKeysRefused, credpick.PolicyViolation)
    for name in exceptions.__all__:
        assert issubclass(getattr(exceptions, name), credpick.CredpickError)


def test_source_kinds_are_the_documented_strings() -> None:
    assert [k.value for k in credpick.SourceKind] == [
        "lambda", "ecs", "eks-pod-identity", "web-identity", "github-oidc",
        "ec2-instance-profile", "sso", "login", "assume-role", "credential-process", "container",
        "env-session", "static",
    ]  # fmt: skip
    assert credpick.SourceKind("ecs") == "ecs"


def test_the_kind_literal_names_every_source_kind() -> None:
    from typing import get_args

    from credpick._model import SourceKindName

    # Simulation.use() takes these strings; a kind added to the enum alone would
    # be refused by a type checker though the code accepts it.
    assert get_args(SourceKindName) == tuple(k.value for k in credpick.SourceKind)


def test_lazy_getattr_is_hidden_from_type_checkers_but_works() -> None:
    import credpick.migrate
    import credpick.testing

    for module in (credpick, credpick.testing, credpick.migrate):
        source = Path(module.__file__ or "").read_text(encoding="utf-8")
        # Under `if not TYPE_CHECKING:`, so mypy sees no __getattr__ -> Any.
        assert "if not TYPE_CHECKING:\n\n    def __getattr__(" in source, module.__name__
        with pytest.raises(AttributeError, match="has no attribute 'sesion'"):
            module.sesion  # noqa: B018


def test_errors_keep_their_fields_through_pickle() -> None:
    err = credpick.SourceFailed("boom", kind="ecs", evidence=("x",), fix="do y", attempts=("a",))
    back = pickle.loads(pickle.dumps(err))
    assert (back.reason, back.kind, back.evidence, back.fix, back.attempts) == (
        "boom", "ecs", ("x",), "do y", ("a",),
    )  # fmt: skip
    assert str(back) == str(err)


def test_errors_mask_key_ids_in_every_field() -> None:
    err = credpick.CredpickError("key AKIAIOSFODNN7EXAMPLE", evidence=["ASIAIOSFODNN7EXAMPLE"])
    assert "AKIAIOSFODNN7EXAMPLE" not in str(err) and "AKIA...MPLE" in str(err)
    assert err.evidence == ("ASIA...MPLE",)


def test_every_public_name_resolves() -> None:
    for name in credpick.__all__:
        assert getattr(credpick, name) is not None
    assert set(dir(credpick)) == set(credpick.__all__)


def test_import_is_lazy() -> None:
    import subprocess
    import sys

    code = "import sys, credpick; print(sorted(m for m in sys.modules if m.startswith('credpick')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "credpick.sources" not in out.stdout and "credpick._model" not in out.stdout
    assert "credpick._wrap" not in out.stdout and "credpick._request_guard" not in out.stdout


def test_wrap_and_guard_are_documented_public_functions() -> None:
    for fn in (credpick.wrap, credpick.guard):
        assert fn.__module__ in ("credpick._wrap", "credpick._request_guard")
        doc = fn.__doc__ or ""
        assert "Args:" in doc and "Returns:" in doc and ".. versionadded:: 0.1.0" in doc

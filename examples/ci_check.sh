#!/usr/bin/env bash
# A CI gate: refuse to deploy unless the job authenticates with a role, and no
# long-lived key is within reach of the process (environment or ~/.aws files).
#
#   examples/ci_check.sh [KIND ...]     # e.g. examples/ci_check.sh github-oidc
#
# Exit codes follow `credpick check` (docs/cli.md): 0 ok, 1 policy violation,
# 3 no credentials, 4 the source failed or the configuration is unusable.
set -u

PYTHON="${PYTHON:-python3}"
args=(check --forbid-static)
if [ "$#" -gt 0 ]; then
    args+=(--require "$@")
fi

"$PYTHON" -m credpick "${args[@]}"
status=$?
case "$status" in
    0) echo "ci_check: credentials are compliant" ;;
    1) echo "ci_check: fix the policy violation above (remove the key, or run on the required role)" >&2 ;;
    2) echo "ci_check: bad arguments to credpick check" >&2 ;;
    3) echo "ci_check: no credentials: configure the job's role (e.g. id-token: write + AWS_ROLE_ARN)" >&2 ;;
    4) echo "ci_check: the credential source is broken: see the line above for the fix" >&2 ;;
    *) echo "ci_check: credpick exited $status" >&2 ;;
esac
exit "$status"

#!/usr/bin/env bash
# Run one command the way a container started with
#   docker run --network host -e AWS_CONTAINER_CREDENTIALS_FULL_URI -e AWS_CONTAINER_AUTHORIZATION_TOKEN
# sees it: `credpick serve` on the host's loopback, and a clean environment holding
# only the endpoint's two variables (docs/bridge.md).
#
#   examples/serve_clean_env.sh CMD ARGS...     # e.g. ... aws sts get-caller-identity
#
# SERVE_ARGS holds credpick serve's policy options (e.g. "--forbid-static"); KEEP names
# more variables to pass through (e.g. "AWS_DEFAULT_REGION"). Exit: CMD's code, or
# credpick serve's when it refused to start (docs/cli.md).
set -u

PYTHON="${PYTHON:-python3}"
dir="$(mktemp -d)" && chmod 700 "$dir" || exit 1
server=""
cleanup() {
    [ -n "$server" ] && kill -TERM "$server" 2>/dev/null && wait "$server"
    rm -rf "$dir"
}
trap cleanup EXIT

# The file exists before the server starts: the background job opens it for
# itself, maybe after the loop below first reads it.
: > "$dir/exports"
# shellcheck disable=SC2086  # SERVE_ARGS is a list of options
"$PYTHON" -m credpick serve ${SERVE_ARGS:-} > "$dir/exports" &
server=$!
# The two export lines come first; wait for both (or for the server to give up).
while [ "$(wc -l < "$dir/exports")" -lt 2 ]; do
    if ! kill -0 "$server" 2>/dev/null; then
        wait "$server"
        status=$?
        server=""
        echo "serve_clean_env: credpick serve did not start (exit $status)" >&2
        exit "$status"
    fi
    sleep 0.1
done
# shellcheck disable=SC1091
. "$dir/exports"

keep=(PATH="$PATH" HOME="$dir")
for name in ${KEEP:-}; do
    [ -n "${!name+x}" ] && keep+=("$name=${!name}")
done
env -i "${keep[@]}" \
    AWS_CONTAINER_CREDENTIALS_FULL_URI="$AWS_CONTAINER_CREDENTIALS_FULL_URI" \
    AWS_CONTAINER_AUTHORIZATION_TOKEN="$AWS_CONTAINER_AUTHORIZATION_TOKEN" \
    "$@"

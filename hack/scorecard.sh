#!/usr/bin/env bash
# operator-sdk's flow, on the local cluster: install the bundle through OLM
# (run bundle), run the operator (pods are simulated here, so the manager runs
# as a local process: bin/sdk run manager, internal/localmanager), run the
# scorecard, clean up. Exits as the scorecard does.
#
# env: SDK, MANAGER, OPM, KUBECTL, WORKDIR; SCORECARD_FLAGS (e.g. -o xunit)
set -euo pipefail
: "${SDK:?}" "${MANAGER:?}" "${OPM:?}" "${KUBECTL:?}" "${WORKDIR:?}"
ns=${SCORECARD_NAMESPACE:-scorecard}
state=$WORKDIR/scorecard
mkdir -p "$state"

"$KUBECTL" create namespace "$ns" --dry-run=client -o yaml | "$KUBECTL" apply -f - >/dev/null
cleanup() {
	[ -n "${op:-}" ] && kill "$op" 2>/dev/null && wait "$op" 2>/dev/null || true
	"$SDK" cleanup memcached-operator --namespace "$ns" --state-dir "$state" --delete-crds >/dev/null 2>&1 || true
}
trap cleanup EXIT
cleanup

"$SDK" run bundle bundle --namespace "$ns" --opm "$OPM" --state-dir "$state" >"$state/run-bundle.log" ||
	{ cat "$state/run-bundle.log" >&2; exit 1; }
# AllNamespaces: the operator watches every namespace.
"$SDK" run manager --manager "$MANAGER" --watch-namespace "" --log "$state/manager.log" &
op=$!
"$SDK" scorecard bundle --namespace "$ns" ${SCORECARD_FLAGS:-}

#!/usr/bin/env bash
# operator-sdk's flow, on the local cluster: install the bundle through OLM
# (run bundle), run the operator (pods are simulated here, so the manager runs
# as a local process), run the scorecard, clean up. Exits as the scorecard does.
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
echo "operator: not the shipped flags: --metrics-bind-address=0 (shipped :8443), no --leader-elect (shipped on), --health-probe-bind-address=0 (shipped :8081); why: a local process stands in for the operator's pod (the simulated lane runs no pods): one process, no scraper, no kubelet"
WATCH_NAMESPACE="" "$MANAGER" --health-probe-bind-address=0 --metrics-bind-address=0 >"$state/manager.log" 2>&1 &
op=$!
"$SDK" scorecard bundle --namespace "$ns" ${SCORECARD_FLAGS:-}

#!/usr/bin/env bash
# Runs the Operator Lifecycle Manager (OLM's olm and catalog operators, built
# from their module) as local processes against the cluster KUBECONFIG names.
#
# usage: hack/olm.sh up|down|status
# env:   OLM, OLM_CATALOG, KUBECTL (binaries), OLM_CRDS (dir of OLM's CRDs),
#        STATE (dir for logs, pids and certs)
set -euo pipefail
: "${KUBECONFIG:?}" "${KUBECTL:?}" "${STATE:?}"
mkdir -p "$STATE"

running() { [ -f "$STATE/$1.pid" ] && kill -0 "$(cat "$STATE/$1.pid")" 2>/dev/null; }

stop() {
	for p in olm catalog; do
		if running $p; then kill "$(cat "$STATE/$p.pid")"; fi
		rm -f "$STATE/$p.pid"
	done
}

# wait_for FILE PATTERN SECONDS: OLM logs "starting workers" once its caches
# have synced; its health endpoint answers long before that.
wait_for() {
	for _ in $(seq $(($3 * 5))); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.2
	done
	echo "error: OLM did not start in $3s: no '$2' in $1; last lines:" >&2
	tail -20 "$1" >&2
	return 1
}

start() {
	: "${OLM:?}" "${OLM_CATALOG:?}" "${OLM_CRDS:?}"
	if running olm && running catalog; then
		echo "OLM is running (logs: $STATE)"
		return
	fi
	stop
	echo "==> installing OLM's CRDs, namespaces, OLMConfig and the global OperatorGroup"
	# Server-side: the ClusterServiceVersion CRD is too large for client-side apply.
	"$KUBECTL" apply --server-side --force-conflicts -f "$OLM_CRDS" >/dev/null
	"$KUBECTL" wait --for=condition=Established --timeout=60s -f "$OLM_CRDS" >/dev/null
	"$KUBECTL" apply --server-side -f - >/dev/null <<'YAML'
apiVersion: v1
kind: Namespace
metadata: {name: olm}
---
apiVersion: v1
kind: Namespace
metadata: {name: operators}
---
apiVersion: operators.coreos.com/v1
kind: OperatorGroup
metadata: {name: global-operators, namespace: operators}
---
apiVersion: operators.coreos.com/v1
kind: OLMConfig
metadata: {name: cluster}
spec: {features: {disableCopiedCSVs: true}}
YAML
	# Both operators serve health on :8080 unless given a certificate; the
	# catalog operator gets a self-signed one and moves to :8443.
	if [ ! -f "$STATE/tls.crt" ]; then
		openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj /CN=olm-catalog \
			-keyout "$STATE/tls.key" -out "$STATE/tls.crt" >/dev/null 2>&1
	fi
	echo "==> starting olm and catalog operators (logs: $STATE)"
	# With CI set, OLM checks every object it creates for a label and panics
	# on any it does not own; that check is for OLM's own CI, not ours.
	env -u CI nohup "$OLM" --writeStatusName "" >"$STATE/olm.log" 2>&1 &
	echo $! >"$STATE/olm.pid"
	env -u CI nohup "$OLM_CATALOG" --kubeconfig "$KUBECONFIG" --namespace olm --writeStatusName "" \
		--tls-cert "$STATE/tls.crt" --tls-key "$STATE/tls.key" >"$STATE/catalog.log" 2>&1 &
	echo $! >"$STATE/catalog.pid"
	wait_for "$STATE/olm.log" "starting workers" 60
	wait_for "$STATE/catalog.log" "starting workers" 60
	echo "OLM is running"
}

case ${1:-} in
up) start ;;
down) stop ;;
status)
	for p in olm catalog; do
		if running $p; then echo "$p: running (pid $(cat "$STATE/$p.pid"))"; else echo "$p: stopped"; fi
	done
	;;
*) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac

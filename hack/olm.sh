#!/usr/bin/env bash
# Runs the Operator Lifecycle Manager (OLM's olm and catalog operators, built
# from their module) against the cluster KUBECONFIG names, in one of two lanes:
#   local       (default) as local processes; catalogs are reached through
#               CatalogSources with spec.address (opm serve on 127.0.0.1)
#   in-cluster  as Deployments in namespace olm from our images (hack/olm/*.yaml,
#               make olm-images), as on any cluster: OLM runs catalog images'
#               registry pods and unpacks bundle images itself. Needs a node
#               that runs pods (make cluster-up NODE_LANE=real).
# Either way OLM's CRDs, its namespaces, the OLMConfig and the global
# OperatorGroup (hack/olm/base.yaml) are installed first; `down` stops or
# removes the operators and leaves those.
#
# usage: hack/olm.sh up|down|status
# env:   OLM_LANE (local or in-cluster), KUBECTL, OLM_CRDS (dir of OLM's CRDs);
#        local: OLM, OLM_CATALOG (binaries), STATE (dir for logs, pids and certs);
#        in-cluster: OLM_IMAGE, OLM_OPM_IMAGE, OLM_UTIL_IMAGE (the images the
#        manifests run)
set -euo pipefail
# shellcheck source=hack/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
: "${KUBECONFIG:?}" "${KUBECTL:?}" "${STATE:?}"
mkdir -p "$STATE"
lane=${OLM_LANE:-local}
manifests=$(cd "$(dirname "$0")" && pwd)/olm

stop() {
	for p in olm catalog; do stop_pidfile "$STATE/$p.pid"; done
}

# started NAME: OLM's operator NAME logs "starting workers" once its caches
# have synced; its health endpoint answers long before that.
started() {
	local log=$STATE/$1.log
	wait_for "OLM's $1 operator to start ('starting workers' in $log)" 60 grep -q "starting workers" "$log" || {
		echo "last lines of $log:" >&2
		tail -20 "$log" >&2
		return 1
	}
}

# install_base: OLM's CRDs, then its namespaces, the OLMConfig and the global
# OperatorGroup (both lanes).
install_base() {
	: "${OLM_CRDS:?}"
	echo "==> installing OLM's CRDs, namespaces, OLMConfig and the global OperatorGroup"
	# Server-side: the ClusterServiceVersion CRD is too large for client-side apply.
	"$KUBECTL" apply --server-side --force-conflicts -f "$OLM_CRDS" >/dev/null
	"$KUBECTL" wait --for=condition=Established --timeout=60s -f "$OLM_CRDS" >/dev/null
	"$KUBECTL" apply --server-side -f "$manifests/base.yaml" >/dev/null
}

# in_cluster_deployments: the names of OLM's Deployments in the cluster, if any.
in_cluster_deployments() {
	"$KUBECTL" -n olm get deployment olm-operator catalog-operator --ignore-not-found -o name 2>/dev/null
}

# in_cluster_manifests: the in-cluster lane's objects, images filled in.
in_cluster_manifests() {
	: "${OLM_IMAGE:?}" "${OLM_OPM_IMAGE:?}" "${OLM_UTIL_IMAGE:?}"
	for f in rbac olm-operator catalog-operator; do
		echo "---"
		sed -e "s#@OLM_IMAGE@#$OLM_IMAGE#g" -e "s#@OLM_OPM_IMAGE@#$OLM_OPM_IMAGE#g" \
			-e "s#@OLM_UTIL_IMAGE@#$OLM_UTIL_IMAGE#g" "$manifests/$f.yaml"
	done
}

# packageserver: OLM's package server as OLM installs it, a CSV in namespace
# olm (hack/olm/packageserver.yaml); OLM makes its APIService.
packageserver_manifest() {
	local version=${OLM_IMAGE##*:}
	sed -e "s#@OLM_IMAGE@#$OLM_IMAGE#g" -e "s#@OLM_VERSION@#${version#v}#g" "$manifests/packageserver.yaml"
}

# start_packageserver installs it and waits until the API server serves
# PackageManifests through it.
start_packageserver() {
	packageserver_manifest | "$KUBECTL" apply --server-side -f - >/dev/null
	local api=apiservice/v1.packages.operators.coreos.com
	for _ in $(seq 90); do "$KUBECTL" get "$api" >/dev/null 2>&1 && break; sleep 2; done
	if ! "$KUBECTL" wait --for=condition=Available "$api" --timeout=180s >/dev/null 2>&1; then
		echo "error: OLM's package server did not become available in 180s:" >&2
		"$KUBECTL" -n olm get csv packageserver -o jsonpath='{.status.phase}: {.status.message}{"\n"}' >&2 || true
		"$KUBECTL" get "$api" -o jsonpath='{.status.conditions}{"\n"}' >&2 || true
		"$KUBECTL" -n olm get pods -l app=packageserver -o wide >&2 || true
		node_trouble >&2
		exit 1
	fi
}

# stop_packageserver removes it while OLM still runs, and its APIService: a
# registered API nobody serves breaks discovery for every client.
stop_packageserver() {
	packageserver_manifest | "$KUBECTL" delete --ignore-not-found -f - >/dev/null 2>&1 || true
	"$KUBECTL" delete --ignore-not-found apiservice v1.packages.operators.coreos.com >/dev/null 2>&1 || true
	"$KUBECTL" -n olm wait --for=delete pod -l app=packageserver --timeout=60s >/dev/null 2>&1 || true
}

# node_trouble prints the nodes' taints and pressure conditions, the usual
# reason OLM's pods stay Pending ("untolerated taint(s)").
node_trouble() {
	echo "the nodes (taints; conditions that are True other than Ready):"
	"$KUBECTL" get nodes -o go-template='{{range .items}}  {{.metadata.name}}: taints [{{range .spec.taints}}{{.key}}:{{.effect}} {{end}}] conditions [{{range .status.conditions}}{{if and (eq .status "True") (ne .type "Ready")}}{{.type}} {{end}}{{end}}]{{"\n"}}{{end}}' 2>/dev/null || true
}

start_in_cluster() {
	local t0=$SECONDS
	# Two OLMs would fight over every object: the local lane's processes go.
	if running "$STATE/olm.pid" || running "$STATE/catalog.pid"; then
		echo "==> stopping the local OLM processes (OLM_LANE=local)"
		stop
	fi
	install_base
	echo "==> starting OLM in the cluster ($OLM_IMAGE)"
	in_cluster_manifests | "$KUBECTL" apply --server-side -f - >/dev/null
	for d in olm-operator catalog-operator; do
		if ! "$KUBECTL" -n olm rollout status "deployment/$d" --timeout=180s >/dev/null; then
			echo "error: OLM's $d did not become available in 180s; its pods:" >&2
			"$KUBECTL" -n olm get pods -l "app=$d" -o wide >&2
			"$KUBECTL" -n olm describe pods -l "app=$d" 2>/dev/null | sed -n '/^Events:/,$p' | tail -15 >&2
			node_trouble >&2
			exit 1
		fi
	done
	echo "==> starting OLM's package server (PackageManifests, as an APIService)"
	start_packageserver
	echo "OLM is running in the cluster (namespace olm, $((SECONDS - t0))s)"
}

stop_in_cluster() {
	stop_packageserver
	in_cluster_manifests | "$KUBECTL" delete --ignore-not-found -f - >/dev/null
	"$KUBECTL" -n olm wait --for=delete pod -l 'app in (olm-operator,catalog-operator)' --timeout=60s >/dev/null 2>&1 || true
	echo "OLM removed from the cluster (its CRDs, namespaces, OLMConfig and global OperatorGroup stay)"
}

start() {
	: "${OLM:?}" "${OLM_CATALOG:?}" "${OLM_CRDS:?}"
	if running "$STATE/olm.pid" && running "$STATE/catalog.pid"; then
		echo "OLM is running (logs: $STATE)"
		return
	fi
	stop
	if [ -n "$(in_cluster_deployments)" ]; then
		echo "error: OLM runs in the cluster (namespace olm); remove it first: make olm-down OLM_LANE=in-cluster" >&2
		exit 1
	fi
	install_base
	# Both operators serve health on :8080 unless given a certificate; the
	# catalog operator gets a self-signed one and moves to :8443.
	if [ ! -f "$STATE/tls.crt" ]; then
		certificate "$STATE/tls" /CN=olm-catalog 365 ""
	fi
	echo "==> starting olm and catalog operators (logs: $STATE)"
	# With CI set, OLM checks every object it creates for a label and panics
	# on any it does not own; that check is for OLM's own CI, not ours.
	env -u CI nohup "$OLM" --writeStatusName "" >"$STATE/olm.log" 2>&1 &
	echo $! >"$STATE/olm.pid"
	env -u CI nohup "$OLM_CATALOG" --kubeconfig "$KUBECONFIG" --namespace olm --writeStatusName "" \
		--tls-cert "$STATE/tls.crt" --tls-key "$STATE/tls.key" >"$STATE/catalog.log" 2>&1 &
	echo $! >"$STATE/catalog.pid"
	started olm
	started catalog
	echo "OLM is running"
}

case $lane/${1:-} in
local/up) start ;;
local/down) stop ;;
local/status)
	for p in olm catalog; do
		if running "$STATE/$p.pid"; then echo "$p: running (pid $(cat "$STATE/$p.pid"))"; else echo "$p: stopped"; fi
	done
	;;
in-cluster/up) start_in_cluster ;;
in-cluster/down) stop_in_cluster ;;
in-cluster/status) "$KUBECTL" -n olm get deployments,pods -o wide ;;
local/* | in-cluster/*) echo "usage: $0 up|down|status" >&2; exit 2 ;;
*) echo "error: OLM_LANE=$lane: want local or in-cluster" >&2; exit 2 ;;
esac

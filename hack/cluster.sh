#!/usr/bin/env bash
# Runs the local cluster: kwokctl's binary runtime with our own kube-apiserver,
# kube-controller-manager, kube-scheduler, etcd and kwok (fake nodes).
#
# usage: hack/cluster.sh up|down|status
#   up     start the cluster unless it is up and ready (idempotent), scale it to
#          CLUSTER_NODES nodes and write its kubeconfig to LOCAL_KUBECONFIG
#   down   delete the cluster and its kubeconfig
#   status show its components and nodes
# env:   KWOKCTL, KUBECTL, KUBE_APISERVER, KUBE_CONTROLLER_MANAGER, KUBE_SCHEDULER,
#        KWOK, ETCD (binaries); CLUSTER_NAME, CLUSTER_NODES; LOCAL_KUBECONFIG;
#        WORKDIR (kwokctl.log goes there); KWOK_WORKDIR (kwokctl's state);
#        KWOKCTL_CREATE_FLAGS (optional, extra `kwokctl create cluster` flags);
#        NODE_LANE (real: kwokctl settings for a real node and the aggregation
#        layer, hack/node/kwokctl.yaml, its front-proxy certificates in WORKDIR/front-proxy;
#        the fake nodes tainted; the node joins after), KWOK_WORKDIR
set -euo pipefail
# shellcheck source=hack/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
: "${KWOKCTL:?}" "${KUBECTL:?}" "${CLUSTER_NAME:?}" "${LOCAL_KUBECONFIG:?}"

# front_proxy_pki DIR: the aggregation layer's own CA and the client
# certificate kube-apiserver presents to aggregated API servers (OLM's package
# server). They trust the X-Remote-User/Group headers only from a certificate
# of this CA named front-proxy-client, so they see the requesting user, not
# an admin. A fresh pair per cluster.
front_proxy_pki() {
	local dir=$1
	rm -rf "$dir" && mkdir -p "$dir"
	certificate "$dir/ca" /CN=front-proxy-ca 30 "" basicConstraints=critical,CA:TRUE keyUsage=critical,keyCertSign,cRLSign
	certificate "$dir/client" /CN=front-proxy-client 30 "$dir/ca" \
		basicConstraints=CA:FALSE keyUsage=digitalSignature,keyEncipherment extendedKeyUsage=clientAuth
}

# record writes the cluster's identity where the Makefile reads it
# (WORKDIR/cluster.mk): every later target acts on this cluster.
record() {
	printf '# Written by make cluster-up: the cluster in this WORKDIR.\nRECORDED_CLUSTER_NAME := %s\nRECORDED_NODE_LANE := %s\n' \
		"$CLUSTER_NAME" "${NODE_LANE:-simulated}" >"$WORKDIR/cluster.mk"
}

up() {
	: "${KUBE_APISERVER:?}" "${KUBE_CONTROLLER_MANAGER:?}" "${KUBE_SCHEDULER:?}" "${KWOK:?}" "${ETCD:?}"
	: "${WORKDIR:?}" "${CLUSTER_NODES:?}"
	if "$KWOKCTL" get clusters 2>/dev/null | grep -qx "$CLUSTER_NAME" &&
		KUBECONFIG=$LOCAL_KUBECONFIG "$KUBECTL" get --raw /readyz >/dev/null 2>&1; then
		record
		echo "cluster $CLUSTER_NAME is up"
		return
	fi
	mkdir -p "$WORKDIR"
	"$KWOKCTL" delete cluster --name "$CLUSTER_NAME" >/dev/null 2>&1 || true
	echo "==> starting local cluster $CLUSTER_NAME"
	local log=$WORKDIR/kwokctl.log flags=${KWOKCTL_CREATE_FLAGS:-}
	if [ "${NODE_LANE:-simulated}" = real ]; then
		: "${KWOK_WORKDIR:?}"
		front_proxy_pki "$WORKDIR/front-proxy"
		sed -e "s#@PKI@#$KWOK_WORKDIR/clusters/$CLUSTER_NAME/pki#g" -e "s#@FRONT_PROXY@#$WORKDIR/front-proxy#g" \
			hack/node/kwokctl.yaml >"$WORKDIR/kwokctl-node.yaml"
		flags="$flags --config $WORKDIR/kwokctl-node.yaml"
	fi
	# shellcheck disable=SC2086 # flags is a list of flags
	"$KWOKCTL" create cluster --name "$CLUSTER_NAME" --runtime binary --quiet-pull \
		--kube-apiserver-binary "$KUBE_APISERVER" --kube-controller-manager-binary "$KUBE_CONTROLLER_MANAGER" \
		--kube-scheduler-binary "$KUBE_SCHEDULER" --kwok-controller-binary "$KWOK" --etcd-binary "$ETCD" \
		--kubeconfig "$LOCAL_KUBECONFIG" --wait 120s $flags >"$log" 2>&1 || {
		echo "error: the local cluster did not start; see $log" >&2
		tail -20 "$log" >&2
		exit 1
	}
	"$KWOKCTL" scale node --name "$CLUSTER_NAME" --replicas "$CLUSTER_NODES" >>"$log" 2>&1
	if [ "${NODE_LANE:-simulated}" = real ]; then
		# Pods are for the real node (hack/node.sh): the fake nodes stay for scale only.
		KUBECONFIG=$LOCAL_KUBECONFIG "$KUBECTL" taint nodes --all kwok.x-k8s.io/node=fake:NoSchedule --overwrite >>"$log" 2>&1
	fi
	record
	echo "cluster $CLUSTER_NAME is up: export KUBECONFIG=$LOCAL_KUBECONFIG"
}

down() {
	local pids=() f p i
	for f in "${KWOK_WORKDIR:-}/clusters/$CLUSTER_NAME"/pids/*.pid; do
		[ -f "$f" ] && pids+=("$(cat "$f")")
	done
	"$KWOKCTL" delete cluster --name "$CLUSTER_NAME" || true
	# kwokctl returns before its processes have ended: a cluster of the same
	# name started next would meet the old kube-apiserver on its port.
	for p in "${pids[@]}"; do
		for i in $(seq 150); do
			kill -0 "$p" 2>/dev/null || break
			[ "$i" = 150 ] && echo "warning: cluster $CLUSTER_NAME: process $p still runs 30 s after kwokctl deleted the cluster" >&2
			sleep 0.2
		done
	done
	rm -f "$LOCAL_KUBECONFIG" "${WORKDIR:?}/cluster.mk"
}

status() {
	"$KWOKCTL" get components --name "$CLUSTER_NAME"
	KUBECONFIG=$LOCAL_KUBECONFIG "$KUBECTL" get nodes
}

case ${1:-} in
up) up ;;
down) down ;;
status) status ;;
*)
	echo "usage: hack/cluster.sh up|down|status" >&2
	exit 2
	;;
esac

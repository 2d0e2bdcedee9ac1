#!/usr/bin/env bash
# The tutorial's flow on the cluster KUBECONFIG names (make demo brings up the
# local one first): install the CRD, run the operator, apply the sample, show
# it reconciled, scale it, and stop the operator again. The operator runs and
# "reconciled" is decided as everywhere else: bin/sdk run manager
# (internal/localmanager) and bin/sdk wait memcached (internal/readiness).
#
# env: SDK, KUBECTL, MANAGER, WORKDIR; DEMO_NAMESPACE (default memcached-demo)
set -euo pipefail
: "${SDK:?}" "${KUBECTL:?}" "${MANAGER:?}" "${WORKDIR:?}"
ns=${DEMO_NAMESPACE:-memcached-demo}
log=$WORKDIR/demo-manager.log

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "namespace $ns"
"$KUBECTL" create namespace "$ns" --dry-run=client -o yaml | "$KUBECTL" apply -f - >/dev/null

step "running the operator (log: $log)"
"$SDK" run manager --manager "$MANAGER" --log "$log" &
op=$!
trap 'kill $op 2>/dev/null; wait $op 2>/dev/null || true' EXIT

step "kubectl apply -f config/samples/cache_v1_memcached.yaml (size 3)"
"$KUBECTL" apply -n "$ns" -f config/samples/cache_v1_memcached.yaml
"$KUBECTL" patch -n "$ns" memcached memcached-sample --type=merge -p '{"spec":{"size":3}}' >/dev/null
"$SDK" wait memcached memcached-sample --namespace "$ns" --timeout 120s
"$KUBECTL" get -n "$ns" memcached,deployment,pods

step "kubectl patch memcached memcached-sample -p '{\"spec\":{\"size\":5}}'"
"$KUBECTL" patch -n "$ns" memcached memcached-sample --type=merge -p '{"spec":{"size":5}}'
"$SDK" wait memcached memcached-sample --namespace "$ns" --timeout 120s
"$KUBECTL" get -n "$ns" memcached memcached-sample -o jsonpath='{range .status.nodes[*]}{@}{"\n"}{end}' | sed 's/^/  status.nodes: /'

step "done: the Memcached is reconciled; 'make demo-down' stops the local cluster"

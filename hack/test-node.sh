#!/usr/bin/env bash
# The real-node lane end to end: a cluster of its own with a real node, the
# operator image deployed as a pod (make deploy) in a restricted namespace, the
# memcached operand image serving; then OLM in the cluster installing the
# operator from the catalog image and the bundle image; then everything torn
# down and the host compared with what it was before (processes, mounts, bridge, netns, rules,
# cgroups, sysctls).
#
# Where a real node cannot run here, says why in one line and, unless
# REQUIRE_REAL_NODE=1 (CI), records the skip for make test's summary and exits 0.
#
# env: MAKE (the make to call back), BIN (tools), WORKDIR; TEST_FLAGS
set -euo pipefail
: "${MAKE:?}" "${BIN:?}" "${WORKDIR:?}"

state=$WORKDIR/test-node
mkdir -p "$state"
node_env=(BIN="$BIN" STATE="$WORKDIR/node-lane/node")

if ! why=$(env "${node_env[@]}" hack/node.sh check); then
	exec hack/skip.sh REQUIRE_REAL_NODE "the real-node lane (make test-node)" "$why"
fi

# One cluster of its own, so the simulated lane's cluster is not disturbed.
lane=(CLUSTER_NAME=memcached-node WORKDIR="$WORKDIR/node-lane" NODE_LANE=real
	KUBECONFIG="$WORKDIR/node-lane/kubeconfig")
down() { "$MAKE" --no-print-directory "${lane[@]}" cluster-down >"$state/down.log" 2>&1 || { cat "$state/down.log"; return 1; }; }

down
env "${node_env[@]}" hack/node.sh snapshot >"$state/host-before.txt"
status=0
{
	"$MAKE" --no-print-directory "${lane[@]}" cluster-up &&
		"$MAKE" --no-print-directory "${lane[@]}" deploy-images deploy &&
		"$MAKE" --no-print-directory "${lane[@]}" test-node-run &&
		"$MAKE" --no-print-directory "${lane[@]}" test-scorecard-node &&
		"$MAKE" --no-print-directory "${lane[@]}" undeploy &&
		"$MAKE" --no-print-directory "${lane[@]}" OLM_LANE=in-cluster olm-up &&
		"$MAKE" --no-print-directory "${lane[@]}" OLM_LANE=in-cluster test-olm-node
} || status=$?
if [ $status -ne 0 ]; then
	echo "--- the real node's logs (last lines) ---"
	for f in "$WORKDIR"/node-lane/node/log/*.log; do [ -f "$f" ] && { echo "== $f"; tail -15 "$f"; }; done
fi
down || status=1
env "${node_env[@]}" hack/node.sh snapshot >"$state/host-after.txt"
if ! diff -u "$state/host-before.txt" "$state/host-after.txt"; then
	echo "error: cluster-down did not leave the host as it found it (diff above: - before, + after)" >&2
	status=1
else
	echo "host restored: processes, mounts, links, netns, iptables/nft, cgroups and sysctls as before"
fi
exit $status

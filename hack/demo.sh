#!/usr/bin/env bash
# make demo and make demo-down: the lane this machine can run, and stopping
# everything demo and the tests started.
#
# usage: hack/demo.sh up|down
#   up    the real lane (make demo-real on a cluster of its own, DEMO_REAL)
#         where a real node can run here (hack/node.sh check), else the
#         simulated lane (make demo-simulated); DEMO_LANE=real or simulated
#         forces one (real fails, saying why, where no real node can run)
#   down  stop the processes demo and run bundle left (their pid files in
#         WORKDIR/demo and WORKDIR/run-bundle); make demo-down stops the
#         clusters, OLM and the registries
# env:   WORKDIR; up: MAKE (the make to call back), BIN (tools), DEMO_LANE,
#        DEMO_REAL (the real lane's make variables: VAR=value ...)
set -euo pipefail
# shellcheck source=hack/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
: "${WORKDIR:?}"

up() {
	: "${MAKE:?}" "${BIN:?}" "${DEMO_REAL:?}"
	local why lane=${DEMO_LANE:-} real
	read -r -a real <<<"$DEMO_REAL"
	if [ "$lane" != simulated ] && why=$(BIN=$BIN STATE=$WORKDIR/demo-lane/node hack/node.sh check 2>&1); then
		echo "demo: real lane: a real node runs every pod, OLM runs in the cluster (kubeconfig $WORKDIR/demo-lane/kubeconfig)"
		"$MAKE" --no-print-directory "${real[@]}" demo-real
	else
		[ "$lane" != real ] || die "DEMO_LANE=real, but $why"
		echo "demo: simulated lane (${why:-DEMO_LANE=simulated}): kwok fakes the pods, the operator runs on this machine"
		"$MAKE" --no-print-directory demo-simulated
	fi
}

down() {
	local f
	for f in "$WORKDIR"/demo/*.pid "$WORKDIR"/run-bundle/*.pid; do
		[ -f "$f" ] || continue
		stop_pidfile "$f"
	done
}

case ${1:-} in
up) up ;;
down) down ;;
*) echo "usage: hack/demo.sh up|down" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# Assembles docs/benchmarks.md from the tables `bin/bench` wrote.
set -euo pipefail
dir=$1
section() { # file title text
	echo "## $2"
	echo
	echo "$3"
	echo
	if [ -f "$dir/$1.md" ]; then cat "$dir/$1.md"; else echo "_not run yet: make bench-$1_"; fi
	echo
}
cat <<'EOT'
# Benchmarks

Numbers from `make bench` on this project's machine (2 cores, 24 GiB). Each
benchmark starts and stops what it needs, is bounded in time, and writes JSON
next to its table (`docs/bench/*.json`). They measure; they do not pass or fail.

EOT
section reconcile "B1: reconcile at scale" "N Memcacheds (size 1 to 3) created at once in 10 namespaces on a local cluster (real kube-apiserver, controller-manager and scheduler; kwok nodes, 110 pods each) created with \`--disable-qps-limits\`, against the operator binary. Targets at N=1000 are marked."
section catalog "B2: catalog tooling at scale" "Generated catalogs (the generator is part of the benchmark: three channels, replaces chains, skips and skipRange) rendered, loaded, validated with operator-registry's model checks, and analysed (paths, switches, edges, CRD checks), each in its own process, and \`opm validate\` on the same directory."
section lifecycle "B3: lifecycle" "From nothing running (binaries built) to the first CSV Succeeded with \`run bundle\`, then \`run bundle-upgrade\` through every released version, then cleanup, on a fresh local cluster with OLM."
section lifecycle-real "B3 on the real node" "From nothing running (binaries and images built) to a cluster with a real node and OLM in it, then \`make demo\`'s lifecycle: CatalogSource from the catalog image, the oldest release of \`candidate\` installed (OLM unpacks its bundle image and runs its operator image), every hop to the head approved with OLM rolling the operator pod, memcached answering. The whole stack's resident memory (control plane, node daemons, every pod) is sampled every second."
[ -f "$dir/analysis.md" ] && cat "$dir/analysis.md"

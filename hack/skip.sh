#!/usr/bin/env bash
# Records a suite that cannot run on this machine, or summarises the record
# at the end of make test (test/framework.Unavailable writes the same lines).
#
# usage: hack/skip.sh REQUIRE_VAR SUITE REASON
#          with REQUIRE_VAR=1 in the environment (CI): fail with the reason;
#          else append "SUITE: REASON" to SKIP_LOG, say it, exit 0
#        hack/skip.sh summary
#          name every suite skipped and why (nothing skipped: say so)
# env:   SKIP_LOG (the record; unset: nothing is recorded)
set -euo pipefail

if [ "${1:-}" = summary ]; then
	if [ -n "${SKIP_LOG:-}" ] && [ -s "$SKIP_LOG" ]; then
		echo "make test: $(sort -u "$SKIP_LOG" | wc -l) suite(s) did not run on this machine:"
		sort -u "$SKIP_LOG" | sed 's/^/  - /'
		echo "  (CI sets REQUIRE_REAL_NODE=1 REQUIRE_OPERATOR_SDK=1, which make these failures)"
	else
		echo "make test: every suite ran (none skipped)"
	fi
	exit 0
fi

require=$1 suite=$2 why=$3
if [ "${!require:-}" = 1 ]; then
	echo "error: $suite cannot run: $why ($require=1 requires it)" >&2
	exit 1
fi
[ -z "${SKIP_LOG:-}" ] || { mkdir -p "$(dirname "$SKIP_LOG")" && echo "$suite: $why" >>"$SKIP_LOG"; }
echo "$suite skipped: $why"

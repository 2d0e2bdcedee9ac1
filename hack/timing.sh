#!/usr/bin/env bash
# Where make test's minutes go: a mark after each of its targets records the
# seconds since the previous mark (so a target's time includes the
# prerequisites it was first to need), and says it as it happens, so a run cut
# short still shows how far it got and what took the time.
#
# usage: hack/timing.sh begin          start the record (make test's start)
#        hack/timing.sh mark TARGET    record TARGET's seconds
#        hack/timing.sh summary        every target, slowest first, and the total
# env:   TIMING_LOG (the record: "TARGET SECONDS" lines; TIMING_LOG.start and
#        TIMING_LOG.last hold the times of the start and the last mark)
set -euo pipefail
: "${TIMING_LOG:?TIMING_LOG names the record}"
now=$(date +%s)

case ${1:-} in
begin)
	mkdir -p "$(dirname "$TIMING_LOG")"
	rm -f "$TIMING_LOG"
	echo "$now" >"$TIMING_LOG.start"
	echo "$now" >"$TIMING_LOG.last"
	;;
mark)
	last=$(cat "$TIMING_LOG.last") start=$(cat "$TIMING_LOG.start")
	echo "$now" >"$TIMING_LOG.last"
	echo "$2 $((now - last))" >>"$TIMING_LOG"
	echo "time: $2 took $((now - last)) s ($(((now - start) / 60)) min into make test)"
	;;
summary)
	[ -s "$TIMING_LOG" ] || exit 0
	echo "make test took $(((now - $(cat "$TIMING_LOG.start")) / 60)) min; by target (s), slowest first:"
	sort -k2,2nr "$TIMING_LOG" | awk '$2 > 0 { printf "  %6d  %s\n", $2, $1 }'
	;;
*)
	echo "usage: hack/timing.sh begin | mark TARGET | summary" >&2
	exit 2
	;;
esac

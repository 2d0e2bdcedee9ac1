#!/usr/bin/env bash
# make catalog-diff, the release gate: what catalog/ changes for users against
# the catalog of the git revision CATALOG_DIFF_BASE (sdk catalog diff, which
# fails on a regression); says so and passes when that revision has none.
#
# usage: hack/catalog-diff.sh
# env:   SDK (bin/sdk), WORKDIR (the base's catalog is extracted there),
#        CATALOG_DIFF_BASE (a git revision)
set -euo pipefail
: "${SDK:?}" "${WORKDIR:?}" "${CATALOG_DIFF_BASE:?}"
base=$WORKDIR/catalog-base
rm -rf "$base" && mkdir -p "$base"
if git archive "$CATALOG_DIFF_BASE" catalog 2>/dev/null | tar -x -C "$base" 2>/dev/null && [ -d "$base/catalog" ]; then
	echo "==> catalog diff $CATALOG_DIFF_BASE -> working tree"
	"$SDK" catalog diff "$base/catalog" catalog
else
	echo "catalog-diff: $CATALOG_DIFF_BASE has no catalog/ (a shallow clone or the first commit): nothing to compare"
fi

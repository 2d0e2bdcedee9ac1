#!/usr/bin/env bash
# Copies the checkout as git sees it (tracked files as they are on disk, a
# deleted one left out; untracked files that are not ignored) into DEST, with
# tar, which keeps modification times: the tools' go.mod files must stay
# older than the tools in LOCALBIN, or make would rebuild them.
#
# usage: hack/copy-tree.sh DEST   (run from the checkout's root)
set -euo pipefail
dest=${1:?usage: hack/copy-tree.sh DEST}
git ls-files -z --cached --others --exclude-standard |
	while IFS= read -r -d '' f; do
		if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
	done |
	tar -c --null -T - -f - | tar -x -C "$dest" -f -

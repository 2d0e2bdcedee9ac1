#!/usr/bin/env bash
# Puts the files of SRC into DEST, each replaced whole: written beside its
# place under a hidden name, then renamed over it, so that a run killed at
# any moment leaves every file old or new, never cut short. Files that did
# not change are left as they are (their time too).
#
# usage: hack/replace-files.sh SRC DEST
set -euo pipefail
src=$1 dest=$2
mkdir -p "$dest"
# What a killed run left half-way.
rm -f "$dest"/.*.replacing
for f in "$src"/*; do
	[ -f "$f" ] || continue
	name=$(basename "$f")
	cmp -s "$f" "$dest/$name" && continue
	cp "$f" "$dest/.$name.replacing"
	mv -f "$dest/.$name.replacing" "$dest/$name"
done

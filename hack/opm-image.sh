#!/usr/bin/env bash
# Builds the opm base image the catalog image is built on, from bin/opm: nothing
# can be pulled here, so the image is FROM scratch with the static opm binary.
#
# usage: hack/opm-image.sh
# env:   OPM (binary), OPM_IMAGE (tag to build), CONTAINER_TOOL, BUILD_FLAGS
#        (its build subcommand and flags, e.g. `build` or `--storage-driver vfs build
#        --isolation chroot`), WORKDIR (the build context goes to WORKDIR/opm-image)
set -euo pipefail
: "${OPM:?}" "${OPM_IMAGE:?}" "${CONTAINER_TOOL:?}" "${BUILD_FLAGS:?}" "${WORKDIR:?}"

ctx=$WORKDIR/opm-image
mkdir -p "$ctx"
cp "$OPM" "$ctx/opm"
printf 'FROM scratch\nCOPY opm /bin/opm\nENTRYPOINT ["/bin/opm"]\n' >"$ctx/Dockerfile"
read -r -a build <<<"$BUILD_FLAGS"
echo "==> building $OPM_IMAGE from $OPM"
"$CONTAINER_TOOL" "${build[@]}" -t "$OPM_IMAGE" "$ctx"

#!/usr/bin/env bash
# Builds the opm image (hack/images/opm/Containerfile) that catalog images are
# built on and OLM's catalog operator runs: nothing can be pulled here, so it is
# FROM scratch with the static opm, grpc_health_probe and busybox binaries.
# With LOCAL_REGISTRY set it is also pushed there (hack/image.sh), where the
# real node pulls it from.
#
# usage: hack/opm-image.sh
# env:   OPM (binary), OPM_IMAGE (tag to build), CONTAINER_TOOL, BUILD_FLAGS
#        (its build subcommand and flags, e.g. `build` or `--storage-driver vfs build
#        --isolation chroot`), WORKDIR (the build context goes to WORKDIR/images/opm);
#        GRPC_HEALTH_PROBE (binary; default: next to OPM), BUSYBOX (a static
#        busybox; default /bin/busybox, Debian's busybox-static);
#        LOCAL_REGISTRY, BUILDAH_FLAGS (optional: push, see hack/image.sh)
set -euo pipefail
: "${OPM:?}" "${OPM_IMAGE:?}" "${CONTAINER_TOOL:?}" "${BUILD_FLAGS:?}" "${WORKDIR:?}"
here=$(cd "$(dirname "$0")" && pwd)
probe=${GRPC_HEALTH_PROBE:-$(dirname "$OPM")/grpc_health_probe}
busybox=${BUSYBOX:-/bin/busybox}

[ -x "$probe" ] || { echo "error: $probe is not built (make $probe)" >&2; exit 1; }
# The image has no libraries: busybox must be static (ldd fails on static binaries).
[ -x "$busybox" ] && ! ldd "$busybox" >/dev/null 2>&1 ||
	{ echo "error: $busybox is not a static busybox (apt-get install busybox-static)" >&2; exit 1; }

ctx=$WORKDIR/images/opm
mkdir -p "$ctx"
cp "$OPM" "$ctx/opm"
cp "$probe" "$ctx/grpc_health_probe"
cp "$busybox" "$ctx/busybox"
"$here/image.sh" "$OPM_IMAGE" "$here/images/opm/Containerfile" "$ctx"

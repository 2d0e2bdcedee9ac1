#!/usr/bin/env bash
# Installs the system packages the targets need, if missing: the container tool
# CONTAINER_TOOL resolves to (buildah or podman, from apt), and what the real
# node uses (runc, iptables, conntrack; memcached and busybox-static, whose
# binaries go into the operand and utility images), curl and openssl. Idempotent: prints nothing
# when everything is there. docker cannot be installed this way (it needs
# a daemon): when it is chosen but missing, this fails and says what to do.
#
# usage: hack/deps.sh
# env:   CONTAINER_TOOL (the Makefile's choice: docker, podman or buildah, or a path to one),
#        SUDO (how to become root when not root; default sudo)
set -euo pipefail
: "${CONTAINER_TOOL:?}"

tool=$(basename "$CONTAINER_TOOL")
# command -> Debian package, for the real node and the images built from Debian's
# binaries; curl and openssl for the local registries (hack/registry.sh: health
# checks, the HTTPS registry's CA) and the local OLM's certificate (hack/olm.sh).
node_packages="runc:runc iptables:iptables conntrack:conntrack memcached:memcached busybox:busybox-static curl:curl openssl:openssl"
missing=""
for entry in $node_packages; do
	command -v "${entry%%:*}" >/dev/null 2>&1 || [ -x "/usr/sbin/${entry%%:*}" ] || missing="$missing ${entry#*:}"
done
command -v "$CONTAINER_TOOL" >/dev/null 2>&1 && tool=""
[ -z "$tool$missing" ] && exit 0

case $tool in
"" | buildah | podman) ;;
docker)
	echo "error: CONTAINER_TOOL=docker but there is no docker CLI; install docker or use CONTAINER_TOOL=buildah" >&2
	exit 1
	;;
*)
	echo "error: CONTAINER_TOOL=$CONTAINER_TOOL is not installed and deps knows no package for it (buildah, podman)" >&2
	exit 1
	;;
esac

packages=$(echo $tool $missing)
echo "==> installing $packages (apt)"
install="apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages >/dev/null"
if [ "$(id -u)" -eq 0 ]; then
	sh -c "$install"
else
	${SUDO:-sudo} sh -c "$install"
fi
[ -z "$tool" ] || command -v "$CONTAINER_TOOL" >/dev/null 2>&1 || {
	echo "error: $tool was installed but $CONTAINER_TOOL is still not found" >&2
	exit 1
}

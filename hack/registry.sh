#!/usr/bin/env bash
# Runs a local OCI registry (distribution's `registry serve`, built into bin/) on
# LOCAL_REGISTRY, as a background process whose pid, config, log and data live
# in REGISTRY_DIR.
#
# usage: hack/registry.sh up|down
#   up    start it unless it runs (idempotent); refuse when a registry it did not
#         start answers on LOCAL_REGISTRY
#   down  stop the one up started
# env:   REGISTRY (binary), LOCAL_REGISTRY (host:port), REGISTRY_DIR
set -euo pipefail
: "${LOCAL_REGISTRY:?}" "${REGISTRY_DIR:?}"
url=http://$LOCAL_REGISTRY

answers() { curl -fsS "$url/v2/" >/dev/null 2>&1; }
ours() { [ -f "$REGISTRY_DIR/pid" ] && kill -0 "$(cat "$REGISTRY_DIR/pid")" 2>/dev/null; }

up() {
	: "${REGISTRY:?}"
	if answers; then
		if ! ours; then
			# Another checkout's registry (or a kind registry) holds images this
			# checkout did not build: pushing to and pulling from it would test
			# those instead.
			echo "error: a registry this checkout did not start answers on $LOCAL_REGISTRY;" \
				"stop it (make registry-down in the checkout that started it) or use another port (LOCAL_REGISTRY=127.0.0.1:5001)" >&2
			exit 1
		fi
		echo "registry is up on $LOCAL_REGISTRY"
		return
	fi
	mkdir -p "$REGISTRY_DIR"
	printf 'version: 0.1\nlog: {level: warn}\nstorage: {filesystem: {rootdirectory: %s}, delete: {enabled: true}}\nhttp: {addr: "%s"}\n' \
		"$REGISTRY_DIR/data" "$LOCAL_REGISTRY" >"$REGISTRY_DIR/config.yml"
	nohup "$REGISTRY" serve "$REGISTRY_DIR/config.yml" >"$REGISTRY_DIR/registry.log" 2>&1 &
	echo $! >"$REGISTRY_DIR/pid"
	for _ in $(seq 50); do
		answers && break
		sleep 0.2
	done
	curl -fsS "$url/v2/" >/dev/null || {
		echo "error: registry did not start; see $REGISTRY_DIR/registry.log" >&2
		exit 1
	}
	echo "registry is up on $LOCAL_REGISTRY"
}

down() {
	if [ -f "$REGISTRY_DIR/pid" ]; then kill "$(cat "$REGISTRY_DIR/pid")" 2>/dev/null || true; fi
	rm -f "$REGISTRY_DIR/pid"
}

case ${1:-} in
up) up ;;
down) down ;;
*)
	echo "usage: hack/registry.sh up|down" >&2
	exit 2
	;;
esac

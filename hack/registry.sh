#!/usr/bin/env bash
# Runs a local OCI registry (distribution's `registry serve`, built into bin/) on
# LOCAL_REGISTRY, as a background process whose pid, config, log and data live
# in REGISTRY_DIR.
#
# With REGISTRY_TLS=true it serves HTTPS with a certificate for 127.0.0.1 and
# localhost from a CA of its own (REGISTRY_DIR/tls/ca.crt, made once with
# openssl): what clients that verify TLS need, e.g. operator-sdk, which reads an
# index image's labels from this host before anything else and ignores
# --use-http/--skip-tls-verify for that step. It writes REGISTRY_DIR/tls/ca-bundle.crt
# (the system's CAs plus ours) for SSL_CERT_FILE; the real node's containerd
# trusts ca.crt through hosts.toml `ca=` (hack/node.sh, REGISTRY_CA).
#
# usage: hack/registry.sh up|down
#   up    start it unless it runs (idempotent); refuse when a registry it did not
#         start answers on LOCAL_REGISTRY
#   down  stop the one up started
# env:   REGISTRY (binary), LOCAL_REGISTRY (host:port), REGISTRY_DIR,
#        REGISTRY_TLS (true: HTTPS; default false)
set -euo pipefail
# shellcheck source=hack/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
: "${LOCAL_REGISTRY:?}" "${REGISTRY_DIR:?}"
tls=$REGISTRY_DIR/tls
if [ "${REGISTRY_TLS:-false}" = true ]; then
	url=https://$LOCAL_REGISTRY
	curl_flags=(--cacert "$tls/ca.crt")
else
	url=http://$LOCAL_REGISTRY
	curl_flags=()
fi

# answers: some registry serves on LOCAL_REGISTRY, in either scheme.
answers() { curl -fsSk "https://$LOCAL_REGISTRY/v2/" >/dev/null 2>&1 || curl -fsS "http://$LOCAL_REGISTRY/v2/" >/dev/null 2>&1; }

# certificates makes the CA and the server certificate once.
certificates() {
	[ -f "$tls/tls.crt" ] && return
	certificate "$tls/ca" "/CN=memcached-operator local registry CA" 3650 ""
	certificate "$tls/tls" /CN=localhost 3650 "$tls/ca" subjectAltName=IP:127.0.0.1,DNS:localhost extendedKeyUsage=serverAuth
	cat /etc/ssl/certs/ca-certificates.crt "$tls/ca.crt" >"$tls/ca-bundle.crt" 2>/dev/null || cp "$tls/ca.crt" "$tls/ca-bundle.crt"
}

up() {
	: "${REGISTRY:?}"
	if answers; then
		if ! running "$REGISTRY_DIR/pid"; then
			# Another checkout's registry (or a kind registry) holds images this
			# checkout did not build: pushing to and pulling from it would test
			# those instead.
			echo "error: a registry this checkout did not start answers on $LOCAL_REGISTRY;" \
				"stop it (make registry-down in the checkout that started it) or use another port (LOCAL_REGISTRY=127.0.0.1:5001)" >&2
			exit 1
		fi
		if [ "$(cat "$REGISTRY_DIR/scheme" 2>/dev/null)" = "${url%%://*}" ]; then
			echo "registry is up on $url"
			return
		fi
		down # running in the other scheme: restart it in this one
	fi
	mkdir -p "$REGISTRY_DIR"
	http="addr: \"$LOCAL_REGISTRY\""
	if [ "${REGISTRY_TLS:-false}" = true ]; then
		certificates
		http="$http, tls: {certificate: $tls/tls.crt, key: $tls/tls.key}"
	fi
	printf 'version: 0.1\nlog: {level: warn}\nstorage: {filesystem: {rootdirectory: %s}, delete: {enabled: true}}\nhttp: {%s}\n' \
		"$REGISTRY_DIR/data" "$http" >"$REGISTRY_DIR/config.yml"
	echo "${url%%://*}" >"$REGISTRY_DIR/scheme"
	nohup "$REGISTRY" serve "$REGISTRY_DIR/config.yml" >"$REGISTRY_DIR/registry.log" 2>&1 &
	echo $! >"$REGISTRY_DIR/pid"
	wait_for "the registry on $url (its log: $REGISTRY_DIR/registry.log)" 10 curl -fsS "${curl_flags[@]}" "$url/v2/" || exit 1
	echo "registry is up on $url"
	if [ "${REGISTRY_TLS:-false}" = true ]; then
		echo "  its CA: $tls/ca.crt; for clients on this host: export SSL_CERT_FILE=$tls/ca-bundle.crt"
	fi
}

down() {
	stop_pidfile "$REGISTRY_DIR/pid"
}

case ${1:-} in
up) up ;;
down) down ;;
*)
	echo "usage: hack/registry.sh up|down" >&2
	exit 2
	;;
esac

# The functions the hack/ scripts share; each script sources it:
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# One way to fail, to wait for something, to tell whether a process a pid
# file names runs, and to make a certificate.

# die MESSAGE...: says "error: " (and the script's DIE_PREFIX, e.g. "node: ")
# with MESSAGE on stderr and exits 1.
die() { echo "error: ${DIE_PREFIX:-}$*" >&2; exit 1; }

# wait_for WHAT SECONDS COMMAND...: runs COMMAND (its output dropped) every
# quarter second until it succeeds; after SECONDS it says what it waited for
# and fails.
wait_for() {
	local what=$1 secs=$2 _
	shift 2
	for _ in $(seq $((secs * 4))); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.25
	done
	echo "error: timed out after ${secs}s waiting for $what" >&2
	return 1
}

# running PIDFILE: the process PIDFILE names runs.
running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# stop_pidfile PIDFILE: stops the process PIDFILE names, if it runs, and
# removes the file.
stop_pidfile() {
	if running "$1"; then kill "$(cat "$1")" 2>/dev/null || true; fi
	rm -f "$1"
}

# certificate OUT SUBJECT DAYS CA [EXTENSION...]: a new RSA key OUT.key and a
# certificate OUT.crt for SUBJECT (e.g. /CN=localhost), valid for DAYS days,
# signed by CA (CA.crt with CA.key; -CAcreateserial writes CA.srl) or, with
# CA empty, self-signed; each EXTENSION (e.g. extendedKeyUsage=serverAuth) is
# added to it.
certificate() {
	local out=$1 subject=$2 days=$3 ca=$4 ext
	shift 4
	mkdir -p "$(dirname "$out")"
	if [ -z "$ca" ]; then
		local addext=()
		for ext in "$@"; do addext+=(-addext "$ext"); done
		openssl req -x509 -newkey rsa:2048 -nodes -days "$days" -subj "$subject" "${addext[@]}" \
			-keyout "$out.key" -out "$out.crt" 2>/dev/null
		return
	fi
	openssl req -new -newkey rsa:2048 -nodes -subj "$subject" -keyout "$out.key" -out "$out.csr" 2>/dev/null
	printf '%s\n' "$@" >"$out.ext"
	openssl x509 -req -in "$out.csr" -CA "$ca.crt" -CAkey "$ca.key" -CAcreateserial -days "$days" \
		-extfile "$out.ext" -out "$out.crt" 2>/dev/null
	rm -f "$out.csr" "$out.ext"
}

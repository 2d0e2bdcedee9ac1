#!/usr/bin/env bash
# The local cluster's real node: containerd + runc + CNI (bridge) + kubelet +
# kube-proxy, joined to the kwok control plane, so that pods run as real
# containers. CoreDNS then runs on it as a pod (make cluster-up applies it).
#
# usage: hack/node.sh check|up|down|snapshot|status
#   check     exit 0 when this host can run a real node (root, runc, iptables,
#             cgroups; the binaries make builds need not exist yet), else print
#             why in one line (exit 3)
#   up        start the node (idempotent) and wait until it is Ready
#   down      stop it and put the host back as it was (pods, mounts, bridge, netns,
#             iptables/nft rules, cgroups, sysctls, processes)
#   snapshot  print the host state `down` must restore (compared by the tests)
#   status    one line per component
#
# env: BIN (tools), STATE (node state dir), KUBECONFIG (admin, local cluster),
#      PKI (the control plane's CA: ca.crt, ca.key), NODE_NAME, POD_CIDR,
#      CLUSTER_DNS, SANDBOX_IMAGE, REGISTRY_MIRRORS ("host=http://addr ...": where
#      containerd pulls each registry host's images from, e.g. the local registry),
#      REGISTRY_CA (the CA https mirrors are verified with)
set -euo pipefail

: "${BIN:?}" "${STATE:?}"
NODE_NAME=${NODE_NAME:-memcached-node}
POD_CIDR=${POD_CIDR:-10.244.0.0/24}
CLUSTER_DNS=${CLUSTER_DNS:-10.0.0.10}
BRIDGE=${BRIDGE:-mcnode0}
# containerd's shims keep their sockets under /run/containerd whatever the
# configuration says, so the state lives there; everything else under STATE.
CTRD_RUN=/run/containerd
CTRD_SOCK=$CTRD_RUN/containerd.sock
# Host settings the kubelet, kube-proxy and the bridge plugin change.
SYSCTLS="vm.overcommit_memory kernel.panic kernel.panic_on_oops net.ipv4.ip_forward
net.ipv4.conf.all.route_localnet net.bridge.bridge-nf-call-iptables net.bridge.bridge-nf-call-ip6tables
net.netfilter.nf_conntrack_max net.netfilter.nf_conntrack_tcp_timeout_established
net.netfilter.nf_conntrack_tcp_timeout_close_wait"

log() { echo "node: $*"; }
die() { echo "error: node: $*" >&2; exit 1; }

# why_not says why this host cannot run a real node (nothing when it can).
# What make builds (make node-tools) does not count: on a fresh clone the
# binaries are not built yet, and the lane that needs them builds them.
why_not() {
	[ "$(id -u)" = 0 ] || { echo "not root: the kubelet and containerd need root"; return; }
	command -v runc >/dev/null 2>&1 || { echo "no runc (apt-get install runc, or make deps)"; return; }
	command -v iptables >/dev/null 2>&1 || { echo "no iptables (apt-get install iptables, or make deps)"; return; }
	[ -d /sys/fs/cgroup ] || { echo "no cgroup filesystem at /sys/fs/cgroup"; return; }
}

# check_free_space refuses to start the node on a disk with less than
# NODE_MIN_FREE_GIB (default 3) free where its state lives: images unpack
# there, and a full disk fails pulls and pods far from the cause.
check_free_space() {
	local need=${NODE_MIN_FREE_GIB:-3} free
	mkdir -p "$STATE"
	free=$(df -Pk "$STATE" | awk 'NR==2 {print int($4 / 1048576)}')
	[ "$free" -ge "$need" ] ||
		die "only ${free} GiB free on the disk of $STATE (df $STATE); the node needs ${need} GiB for images and pod logs: free some space, or set NODE_MIN_FREE_GIB to go on with less"
}

# unbuilt names the first node binary make node-tools has not built.
unbuilt() {
	local b
	for b in containerd containerd-shim-runc-v2 kubelet kube-proxy crictl cni/bridge cni/host-local cni/loopback cni/portmap; do
		[ -x "$BIN/$b" ] || { echo "$BIN/$b is not built (make node-tools)"; return; }
	done
}

cgroup_driver_config() {
	# cgroup v1 (hybrid) hosts need these; on v2 they are harmless.
	cat <<EOF
failCgroupV1: false
failSwapOn: false
cgroupDriver: cgroupfs
EOF
}

write_containerd_config() {
	mkdir -p "$STATE/containerd" "$STATE/cni/net.d" "$STATE/containerd/certs.d"
	cat >"$STATE/containerd/config.toml" <<EOF
version = 3
root = "$STATE/containerd/root"
state = "$CTRD_RUN"
[grpc]
  address = "$CTRD_SOCK"
[plugins.'io.containerd.cri.v1.runtime']
  enable_selinux = false
  disable_apparmor = true
  # The VM lacks CAP_SYS_RESOURCE: without this every sandbox fails to start.
  restrict_oom_score_adj = true
  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = "runc"
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "$(command -v runc)"
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ["$BIN/cni"]
    conf_dir = "$STATE/cni/net.d"
[plugins.'io.containerd.cri.v1.images']
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = "$SANDBOX_IMAGE"
  [plugins.'io.containerd.cri.v1.images'.registry]
    config_path = "$STATE/containerd/certs.d"
EOF
	cat >"$STATE/cni/net.d/10-$BRIDGE.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "$BRIDGE",
  "plugins": [
    {"type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": true, "hairpinMode": true,
     "ipam": {"type": "host-local", "dataDir": "$STATE/cni/ipam", "ranges": [[{"subnet": "$POD_CIDR"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
}

# registry_mirror HOST URL makes containerd pull HOST/... from URL: plain HTTP,
# or HTTPS verified against REGISTRY_CA (the local HTTPS registry's CA) when
# URL is https and REGISTRY_CA is set.
registry_mirror() {
	local dir="$STATE/containerd/certs.d/$1" trust="skip_verify = true"
	case $2 in https://*) [ -z "${REGISTRY_CA:-}" ] || trust="ca = \"$REGISTRY_CA\"" ;; esac
	mkdir -p "$dir"
	printf 'server = "%s"\n\n[host."%s"]\n  capabilities = ["pull", "resolve"]\n  %s\n' "$2" "$2" "$trust" >"$dir/hosts.toml"
}

start_bg() { # name command...
	local name=$1
	shift
	mkdir -p "$STATE/log"
	nohup "$@" >"$STATE/log/$name.log" 2>&1 &
	echo $! >"$STATE/$name.pid"
}

running() { [ -f "$STATE/$1.pid" ] && kill -0 "$(cat "$STATE/$1.pid")" 2>/dev/null; }

stop_bg() {
	local pidf="$STATE/$1.pid" pid i
	[ -f "$pidf" ] || return 0
	pid=$(cat "$pidf")
	if kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null || true
		for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null || true
	fi
	rm -f "$pidf"
}

# issue_cert NAME CN ORG [IP SANS...]: a client/serving certificate signed by the cluster CA.
issue_cert() {
	local name=$1 cn=$2 org=$3 sans="" ip
	shift 3
	for ip in "$@"; do sans="${sans:+$sans,}IP:$ip"; done
	mkdir -p "$STATE/pki"
	openssl req -new -newkey rsa:2048 -nodes -keyout "$STATE/pki/$name.key" -subj "/O=$org/CN=$cn" -out "$STATE/pki/$name.csr" 2>/dev/null
	printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth,serverAuth\n%s\n' \
		"${sans:+subjectAltName=DNS:$NODE_NAME,$sans}" >"$STATE/pki/$name.ext"
	openssl x509 -req -in "$STATE/pki/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
		-days 30 -extfile "$STATE/pki/$name.ext" -out "$STATE/pki/$name.crt" 2>/dev/null
}

write_kubeconfig() { # NAME
	local server
	server=$("$BIN/kubectl" config view --minify -o jsonpath='{.clusters[0].cluster.server}')
	cat >"$STATE/$1.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters: [{name: local, cluster: {server: "$server", certificate-authority: "$PKI/ca.crt"}}]
users: [{name: $1, user: {client-certificate: "$STATE/pki/$1.crt", client-key: "$STATE/pki/$1.key"}}]
contexts: [{name: local, context: {cluster: local, user: $1}}]
current-context: local
EOF
}

node_ip() { ip -4 route get 1.1.1.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p'; }

write_kubelet_config() {
	mkdir -p "$STATE/kubelet"
	grep -v '^\s*nameserver\s\+127\.' /etc/resolv.conf >"$STATE/resolv.conf" || true
	grep -q nameserver "$STATE/resolv.conf" || echo "nameserver $(node_ip)" >>"$STATE/resolv.conf"
	cat >"$STATE/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
$(cgroup_driver_config)
containerRuntimeEndpoint: unix://$CTRD_SOCK
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: "$PKI/ca.crt"}
authorization: {mode: Webhook}
tlsCertFile: "$STATE/pki/kubelet.crt"
tlsPrivateKeyFile: "$STATE/pki/kubelet.key"
clusterDomain: cluster.local
clusterDNS: ["$CLUSTER_DNS"]
resolvConf: "$STATE/resolv.conf"
podCIDR: "$POD_CIDR"
maxPods: 60
serializeImagePulls: false
# The node shares the host's disk with the checkout, its builds and its
# registry: disk-pressure eviction would taint the node (and leave every new
# pod Pending) over space the node itself does not use. As kind does, it is
# off; up checks for free space before the node starts instead.
evictionHard: {memory.available: "100Mi", nodefs.available: "0%", nodefs.inodesFree: "0%", imagefs.available: "0%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
healthzBindAddress: 127.0.0.1
healthzPort: 10248
readOnlyPort: 0
EOF
}

write_proxy_config() {
	cat >"$STATE/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: "$STATE/kube-proxy.kubeconfig"}
hostnameOverride: $NODE_NAME
mode: iptables
clusterCIDR: "$POD_CIDR"
# Leave the host's conntrack settings alone.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
EOF
}

record_host() {
	[ -f "$STATE/host-before" ] && return 0
	mkdir -p "$STATE"
	local k
	for k in $SYSCTLS; do
		printf '%s=%s\n' "$k" "$(sysctl -n "$k" 2>/dev/null || echo absent)"
	done >"$STATE/host-before"
	nft list tables 2>/dev/null | awk '{print $2":"$3}' >"$STATE/nft-before" || true
}

restore_host() {
	[ -f "$STATE/host-before" ] || return 0
	local line k v
	while IFS= read -r line; do
		k=${line%%=*} v=${line#*=}
		[ "$v" = absent ] && continue
		sysctl -qw "$k=$v" 2>/dev/null || true
	done <"$STATE/host-before"
	remove_new_empty_tables
	rm -f "$STATE/host-before" "$STATE/nft-before"
}

# remove_new_empty_tables deletes the nftables tables iptables created while
# the node ran (ip/ip6 filter, nat, mangle), when they were not there before
# and hold nothing but their built-in chains' policies.
remove_new_empty_tables() {
	[ -f "$STATE/nft-before" ] || return 0
	local t family name cmd
	for t in $(nft list tables 2>/dev/null | awk '{print $2":"$3}'); do
		grep -qx "$t" "$STATE/nft-before" && continue
		family=${t%%:*} name=${t#*:}
		case $family in ip) cmd=iptables ;; ip6) cmd=ip6tables ;; *) continue ;; esac
		if ! "$cmd" -t "$name" -S 2>/dev/null | grep -qv '^-P '; then
			nft delete table "$family" "$name" 2>/dev/null || true
		fi
	done
}

wait_for() { # what seconds command...
	local what=$1 secs=$2 i
	shift 2
	for i in $(seq $((secs * 4))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.25; done
	die "timed out after ${secs}s waiting for $what (logs in $STATE/log)"
}

up() {
	local why
	why=$(why_not)$(unbuilt)
	[ -z "$why" ] || { echo "$why"; exit 3; }
	: "${KUBECONFIG:?}" "${PKI:?}" "${SANDBOX_IMAGE:?}"
	check_free_space
	record_host
	if ! running containerd; then
		write_containerd_config
		[ -z "${REGISTRY_MIRRORS:-}" ] || for m in $REGISTRY_MIRRORS; do registry_mirror "${m%%=*}" "${m#*=}"; done
		start_bg containerd "$BIN/containerd" --config "$STATE/containerd/config.toml"
		wait_for "containerd" 30 "$BIN/ctr" --address "$CTRD_SOCK" version
	fi
	if ! running kubelet; then
		issue_cert kubelet "system:node:$NODE_NAME" system:nodes "$(node_ip)" 127.0.0.1
		write_kubeconfig kubelet
		write_kubelet_config
		start_bg kubelet "$BIN/kubelet" --config "$STATE/kubelet/config.yaml" --kubeconfig "$STATE/kubelet.kubeconfig" \
			--hostname-override "$NODE_NAME" --node-ip "$(node_ip)" --root-dir "$STATE/kubelet/root" \
			--cert-dir "$STATE/pki" --node-labels "memcached.example.com/node=real"
	fi
	if ! running kube-proxy; then
		issue_cert kube-proxy system:kube-proxy system:node-proxier
		write_kubeconfig kube-proxy
		write_proxy_config
		start_bg kube-proxy "$BIN/kube-proxy" --config "$STATE/kube-proxy.yaml"
	fi
	wait_for "node $NODE_NAME to be Ready" 120 "$BIN/kubectl" wait --for=condition=Ready "node/$NODE_NAME" --timeout=1s
	log "$NODE_NAME is Ready (pods run as containers: containerd + runc, CNI bridge $BRIDGE $POD_CIDR)"
}

remove_pods() {
	[ -S "$CTRD_SOCK" ] || return 0
	"$BIN/crictl" --runtime-endpoint "unix://$CTRD_SOCK" --timeout 20s rmp --all --force >/dev/null 2>&1 || true
}

unmount_under() { # dir: every mount below it, deepest first
	local d=$1
	[ -d "$d" ] || return 0
	findmnt -rn -o TARGET | { grep -F "$d" || true; } | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
}

remove_cgroups() {
	local c
	for c in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods /sys/fs/cgroup/unified/kubepods; do
		[ -d "$c" ] || continue
		find "$c" -depth -type d -exec rmdir {} + 2>/dev/null || true
	done
}

remove_rules() {
	"$BIN/kube-proxy" --cleanup >/dev/null 2>&1 || true
	local t c
	for t in filter nat mangle; do
		for c in $(iptables -t "$t" -S 2>/dev/null | awk '$1=="-N" && ($2 ~ /^(KUBE-|CNI-)/) {print $2}'); do
			iptables -t "$t" -S | awk -v c="$c" '$1=="-A" && $0 ~ ("-j " c "( |$)") && $2 != c' | sed 's/^-A/-D/' |
				while read -r rule; do eval iptables -t "$t" "$rule" 2>/dev/null || true; done
		done
		for c in $(iptables -t "$t" -S 2>/dev/null | awk '$1=="-N" && ($2 ~ /^(KUBE-|CNI-)/) {print $2}'); do iptables -t "$t" -F "$c" 2>/dev/null || true; done
		for c in $(iptables -t "$t" -S 2>/dev/null | awk '$1=="-N" && ($2 ~ /^(KUBE-|CNI-)/) {print $2}'); do iptables -t "$t" -X "$c" 2>/dev/null || true; done
	done
	# kube-proxy and the kubelet also keep nftables tables of their own.
	for t in $(nft list tables 2>/dev/null | awk '$3 ~ /^kube-proxy|^kubelet/ {print $2" "$3}' | tr ' ' ':'); do
		nft delete table "${t%%:*}" "${t#*:}" 2>/dev/null || true
	done
}

down() {
	[ -d "$STATE" ] || return 0
	stop_bg kubelet
	remove_pods
	stop_bg kube-proxy
	stop_bg containerd
	pkill -f "containerd-shim-runc-v2 -namespace k8s.io" 2>/dev/null || true
	unmount_under "$STATE"
	unmount_under "$CTRD_RUN"
	ip netns list 2>/dev/null | awk '/^cni-/ {print $1}' | while read -r n; do ip netns delete "$n" 2>/dev/null || true; done
	ip link delete "$BRIDGE" 2>/dev/null || true
	remove_rules
	remove_cgroups
	restore_host
	rm -rf "$CTRD_RUN" /var/lib/cni/results /var/lib/cni/networks/"$BRIDGE" "$STATE"
	log "stopped; host restored"
}

# snapshot prints what down must leave as up found it.
snapshot() {
	local k
	echo "# sysctls"
	for k in $SYSCTLS; do printf '%s=%s\n' "$k" "$(sysctl -n "$k" 2>/dev/null || echo absent)"; done
	echo "# links"
	ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | sort
	echo "# netns"
	ip netns list 2>/dev/null | awk '{print $1}' | sort
	echo "# iptables chains"
	for k in filter nat mangle; do iptables -t "$k" -S 2>/dev/null | awk -v t="$k" '$1=="-N" {print t" "$2}'; done | sort
	echo "# nft tables"
	nft list tables 2>/dev/null | sort
	echo "# mounts"
	findmnt -rn -o TARGET | grep -E "^$CTRD_RUN|^${STATE%/*}|kubelet|/run/netns" | sort || true
	echo "# cgroups"
	ls -d /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods 2>/dev/null | sort || true
	echo "# processes"
	pgrep -a -f "$BIN/(containerd|kubelet|kube-proxy)|containerd-shim-runc-v2" | awk '{print $2}' | sort || true
	echo "# state"
	ls -d "$CTRD_RUN" "$STATE" 2>/dev/null || true
}

status() {
	local c
	for c in containerd kubelet kube-proxy; do
		if running "$c"; then echo "$c: running (pid $(cat "$STATE/$c.pid"))"; else echo "$c: stopped"; fi
	done
}

case ${1:-} in
check) why=$(why_not); [ -z "$why" ] || { echo "$why"; exit 3; } ;;
up) up ;;
down) down ;;
snapshot) snapshot ;;
status) status ;;
*) echo "usage: $0 check|up|down|snapshot|status" >&2; exit 2 ;;
esac

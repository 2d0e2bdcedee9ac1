#!/usr/bin/env bash
# The local cluster's real node, as a guest on this host: containerd + runc +
# CNI (bridge) + kubelet + kube-proxy, joined to the kwok control plane, run
# inside namespaces of their own, as a kind node runs in a container:
#   - a PID namespace whose init is our pause binary: every node process,
#     container and shim lives in it and ends with it;
#   - a mount namespace where /run, /var/lib and /var/log (and /etc/cni where
#     the host has one) are private bind mounts of STATE/root, so the node's
#     /run/containerd, /run/netns, /var/lib/kubelet, /var/lib/cni and pod logs
#     are its own; the kernel settings the kubelet writes (vm.overcommit_memory,
#     kernel.panic, ...) are files of STATE bound over /proc/sys there;
#   - a network namespace joined to the host by a veth pair: the node's IP is
#     its end, its bridge, CNI rules and kube-proxy's rules live there, and the
#     host routes the node's pod subnet to it; portfwd gives the namespace the
#     host's loopback services the node needs (API server, local registries) at
#     their host addresses;
#   - a cgroup subtree /memcached-operator-node<N> for its pods (cgroupRoot).
# Each node takes a free slot N: pod subnet 10.244.N.0/24, link
# 10.244.(128+N).0/30, host link mcnode<N>; several nodes (clusters) run side by
# side. Nothing of the host outside those is created, changed or removed.
#
# usage: hack/node.sh check|up|down|snapshot|status|crictl ARGS...
#   check     exit 0 when this host can run a real node, else say why (exit 3):
#             root, runc, iptables, unshare/nsenter, cgroups; no other node's
#             kubelet or kube-proxy; the lane's host ports free or ours
#   up        start the node (idempotent) and wait until it is Ready
#   down      stop it: its namespaces, link, route and cgroups go, STATE is removed
#   snapshot  print the host state `down` must leave as `up` found it
#   status    one line per component
#   crictl    run crictl against the node's containerd
#
# env: BIN (tools), STATE (node state dir), KUBECONFIG (admin, local cluster),
#      PKI (the control plane's CA: ca.crt, ca.key), NODE_NAME, CLUSTER_DNS,
#      SANDBOX_IMAGE, REGISTRY_MIRRORS ("host=http://addr ...": where containerd
#      pulls each registry host's images from), REGISTRY_CA (the CA https
#      mirrors are verified with), HOST_PORTS ("VAR=addr ...": host ports the
#      lane needs, with the variable that moves each), OWN_PIDFILES (pid files
#      of this checkout's processes that may hold them)
set -euo pipefail
# shellcheck source=hack/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${BIN:?}" "${STATE:?}"
NODE_NAME=${NODE_NAME:-memcached-node}
CLUSTER_DNS=${CLUSTER_DNS:-10.0.0.10}
# Inside the node's namespaces.
BRIDGE=mcnode0
CTRD_SOCK=/run/containerd/containerd.sock
# The kernel settings the kubelet sets (its defaults), served to it from STATE.
KERNEL_TUNABLES="vm/overcommit_memory=1 vm/panic_on_oom=0 kernel/panic=10 kernel/panic_on_oops=1
kernel/keys/root_maxkeys=1000000 kernel/keys/root_maxbytes=25000000"
# What the snapshot compares: settings of the host the old lane changed.
SYSCTLS="vm.overcommit_memory kernel.panic kernel.panic_on_oops net.ipv4.ip_forward
net.ipv4.conf.all.route_localnet net.bridge.bridge-nf-call-iptables net.bridge.bridge-nf-call-ip6tables"

log() { echo "node: $*"; }
DIE_PREFIX="node: "

# why_not says why this host cannot run a real node (nothing when it can).
# What make builds (make node-tools) does not count: on a fresh clone the
# binaries are not built yet, and the lane that needs them builds them.
why_not() {
	[ "$(id -u)" = 0 ] || { echo "not root: the kubelet, containerd and the node's namespaces need root"; return; }
	local c
	for c in runc:runc iptables:iptables unshare:util-linux nsenter:util-linux ip:iproute2 ss:iproute2; do
		command -v "${c%%:*}" >/dev/null 2>&1 || { echo "no ${c%%:*} (apt-get install ${c#*:}, or make deps)"; return; }
	done
	[ -d /sys/fs/cgroup ] || { echo "no cgroup filesystem at /sys/fs/cgroup"; return; }
	case $STATE/ in /run/* | /var/lib/* | /var/log/* | /etc/cni/* | /proc/* | /sys/*)
		echo "STATE $STATE is under a directory the node's mount namespace replaces or the kernel owns (/run, /var/lib, /var/log, /etc/cni, /proc, /sys): put WORKDIR elsewhere"; return ;;
	esac
	other_node
	taken_port
}

# other_node names a kubelet or kube-proxy of another node running on this
# host (in the host's PID namespace: ours, and kind's, run in their own).
other_node() {
	local name pid
	for name in kubelet kube-proxy; do
		for pid in $(pgrep -x "$name" 2>/dev/null || true); do
			[ "$(readlink "/proc/$pid/ns/pid" 2>/dev/null)" = "$(readlink /proc/self/ns/pid)" ] || continue
			echo "a $name of another node runs on this host (pid $pid: $(tr '\0' ' ' <"/proc/$pid/cmdline" | cut -c1-120)): this lane does not share a host with another node; stop it first (e.g. systemctl stop $name)"
			return
		done
	done
}

# taken_port names a host port of HOST_PORTS that a process other than this
# checkout's (OWN_PIDFILES) listens on.
taken_port() {
	local entry var addr users pid own f
	for entry in ${HOST_PORTS:-}; do
		var=${entry%%=*} addr=${entry#*=}
		users=$(ss -ltnpH "sport = :${addr##*:}" 2>/dev/null | grep -o 'users:(.*' | head -1) || true
		[ -n "$users" ] || continue
		pid=$(echo "$users" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
		own=""
		for f in ${OWN_PIDFILES:-}; do [ -f "$f" ] && [ "$(cat "$f")" = "$pid" ] && own=1; done
		[ -n "$own" ] && continue
		echo "$addr, which this lane needs ($var), is taken by $(echo "$users" | grep -o '"[^"]*"' | head -1 | tr -d '"') (pid $pid): stop it, or give the lane another port ($var=${addr%:*}:$(( ${addr##*:} + 1 )))"
		return
	done
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
	for b in containerd containerd-shim-runc-v2 kubelet kube-proxy crictl pause portfwd cni/bridge cni/host-local cni/loopback cni/portmap; do
		[ -x "$BIN/$b" ] || { echo "$BIN/$b is not built (make node-tools)"; return; }
	done
}

# --- the node's namespaces ---------------------------------------------------

# init_pid is the host PID of the node's init (our pause, PID 1 of its PID
# namespace), when it runs; empty otherwise.
init_pid() {
	local pid
	pid=$(cat "$STATE/init.pid" 2>/dev/null) || return 0
	if [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$BIN/pause" ]; then echo "$pid"; fi
}

in_node() { nsenter --target "$(init_pid)" --mount --net -- "$@"; }
# node_crictl ARGS... runs crictl against the node's containerd, in the node's
# PID namespace too: the /proc of its mount namespace is that namespace's, and
# crictl reads /proc/self/exe.
node_crictl() { nsenter --target "$(init_pid)" --mount --net --pid --wd=/ -- "$BIN/crictl" --runtime-endpoint "unix://$CTRD_SOCK" "$@"; }
# in_node_bg NAME COMMAND... runs a command as a process of the node (its PID
# namespace too), in the background, logging to STATE/log/NAME.log.
in_node_bg() {
	local name=$1
	shift
	mkdir -p "$STATE/log"
	nohup nsenter --target "$(init_pid)" --mount --net --pid --wd=/ -- "$@" >"$STATE/log/$name.log" 2>&1 &
}

# node_pid is the host PID of the node process running BIN/NAME, if any.
node_pid() {
	local init ns p
	init=$(init_pid)
	[ -n "$init" ] || return 0
	ns=$(readlink "/proc/$init/ns/pid")
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/ns/pid" 2>/dev/null)" = "$ns" ] && [ "$(readlink "$p/exe" 2>/dev/null)" = "$BIN/$1" ] && { echo "${p#/proc/}"; return; }
	done
	return 0
}

# node_running NAME: the node runs BIN/NAME.
node_running() { [ -n "$(node_pid "$1")" ]; }

# start_namespaces starts the node's init in new PID, mount and network
# namespaces (mount propagation private: nothing mounted there reaches the host).
start_namespaces() {
	local u i pid
	[ -n "$(init_pid)" ] && return 0
	mkdir -p "$STATE/log"
	# In the background of a script, it ignores the terminal's Ctrl-C.
	nohup unshare --pid --fork --mount-proc --net --propagation private "$BIN/pause" >"$STATE/log/init.log" 2>&1 &
	u=$!
	for i in $(seq 100); do
		pid=$(pgrep -P "$u" -x pause || true)
		[ -n "$pid" ] && break
		sleep 0.05
	done
	[ -n "$pid" ] || die "the node's namespaces did not start (unshare: $(cat "$STATE/log/init.log"))"
	echo "$pid" >"$STATE/init.pid"
}

# --- the slot: pod subnet, link, host interface, cgroup ----------------------

slot() { cat "$STATE/slot" 2>/dev/null; }
host_link() { echo "mcnode$(slot)"; }
pod_cidr() { echo "10.244.$(slot).0/24"; }
link_ip() { echo "10.244.$((128 + $(slot))).$1"; } # 1: the host's end, 2: the node's
cgroup_name() { echo "memcached-operator-node$(slot)"; }

# route_free: no route of the host but the default one covers the address.
route_free() { ! ip -4 route show match "$1" | grep -qv '^default'; }

# claim_slot picks the first N whose subnets no host route covers and whose
# host link it can create: creating the link is the claim (two nodes starting
# at once cannot both make mcnode<N>).
claim_slot() {
	local n init
	[ -n "$(slot)" ] && ip link show "$(host_link)" >/dev/null 2>&1 && return 0
	init=$(init_pid)
	for n in $(seq 0 63); do
		route_free "10.244.$n.1" && route_free "10.244.$((128 + n)).1" || continue
		ip link add "mcnode$n" type veth peer name eth0 netns "$init" 2>/dev/null || continue
		echo "$n" >"$STATE/slot"
		return 0
	done
	die "no free node slot: every 10.244.N.0/24 (N < 64) is routed on this host or used by another node"
}

# setup_network: the link's addresses, the node's default route through the
# host, the host's route to the node's pods.
setup_network() {
	ip addr replace "$(link_ip 1)/30" dev "$(host_link)"
	ip link set "$(host_link)" up
	in_node ip link set lo up
	in_node ip addr replace "$(link_ip 2)/30" dev eth0
	in_node ip link set eth0 up
	in_node ip route replace default via "$(link_ip 1)"
	ip route replace "$(pod_cidr)" via "$(link_ip 2)" dev "$(host_link)"
}

# setup_mounts: the node's /run, /var/lib, /var/log (and /etc/cni) are
# STATE/root's, and the kernel settings the kubelet writes are STATE's files.
setup_mounts() {
	local root=$STATE/root d t
	# Once per mount namespace: STATE/mounted names the init whose it is.
	[ "$(cat "$STATE/mounted" 2>/dev/null)" = "$(init_pid)" ] && return 0
	mkdir -p "$root/run/containerd" "$root/run/netns" "$root/var/lib/kubelet" "$root/var/lib/cni" "$root/var/log/pods" "$root/etc/cni"
	for d in /run /var/lib /var/log /etc/cni; do
		[ -d "$d" ] && in_node mount --bind "$root$d" "$d"
	done
	mkdir -p "$STATE/sysctl"
	for t in $KERNEL_TUNABLES; do
		d=${t%%=*}
		echo "${t#*=}" >"$STATE/sysctl/${d//\//.}"
		in_node mount --bind "$STATE/sysctl/${d//\//.}" "/proc/sys/$d"
	done
	# The kubelet's volumes may propagate mounts (rshared), among the node's own.
	in_node mount --make-rshared /
	init_pid >"$STATE/mounted"
}

# setup_cgroup makes the node's cgroup root in every hierarchy (cgroup v1,
# v2 or both), the kubelet's cgroupRoot.
setup_cgroup() {
	local h cg
	cg=$(cgroup_name)
	for h in $(cgroup_hierarchies); do
		mkdir -p "$h/$cg"
		if [ -f "$h/cpuset.cpus" ] && [ ! -f "$h/cgroup.controllers" ]; then
			cat "$h/cpuset.cpus" >"$h/$cg/cpuset.cpus"
			cat "$h/cpuset.mems" >"$h/$cg/cpuset.mems"
		fi
	done
}

# cgroup_hierarchies are the mounted cgroup hierarchies' roots.
cgroup_hierarchies() { findmnt -rn -t cgroup,cgroup2 -o TARGET | sort -u; }

remove_cgroup() {
	local h cg i
	cg=$(cgroup_name)
	for h in $(cgroup_hierarchies); do
		[ -d "$h/$cg" ] || continue
		for i in $(seq 50); do
			find "$h/$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true
			[ -d "$h/$cg" ] || break
			sleep 0.1
		done
		[ ! -d "$h/$cg" ] || log "warning: cgroup $h/$cg is still in use"
	done
}

# --- the node's daemons ------------------------------------------------------

write_containerd_config() {
	mkdir -p "$STATE/containerd" "$STATE/cni/net.d" "$STATE/containerd/certs.d"
	cat >"$STATE/containerd/config.toml" <<EOT
version = 3
root = "/var/lib/containerd"
state = "/run/containerd"
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
EOT
	cat >"$STATE/cni/net.d/10-$BRIDGE.conflist" <<EOT
{
  "cniVersion": "1.0.0",
  "name": "$BRIDGE",
  "plugins": [
    {"type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": true, "hairpinMode": true,
     "ipam": {"type": "host-local", "dataDir": "$STATE/cni/ipam", "ranges": [[{"subnet": "$(pod_cidr)"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOT
	local m
	[ -z "${REGISTRY_MIRRORS:-}" ] || for m in $REGISTRY_MIRRORS; do registry_mirror "${m%%=*}" "${m#*=}"; done
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

# issue_cert NAME CN ORG [IP SANS...]: a client/serving certificate signed by the cluster CA.
issue_cert() {
	local name=$1 cn=$2 org=$3 sans="" ip
	shift 3
	for ip in "$@"; do sans="${sans:+$sans,}IP:$ip"; done
	certificate "$STATE/pki/$name" "/O=$org/CN=$cn" 30 "$PKI/ca" basicConstraints=CA:FALSE \
		keyUsage=digitalSignature,keyEncipherment extendedKeyUsage=clientAuth,serverAuth ${sans:+"subjectAltName=DNS:$NODE_NAME,$sans"}
}

# api_server is the control plane's address as the admin kubeconfig names it
# (127.0.0.1:PORT): portfwd serves it inside the node's network namespace.
api_server() { "$BIN/kubectl" config view --minify -o jsonpath='{.clusters[0].cluster.server}'; }

write_kubeconfig() { # NAME
	cat >"$STATE/$1.kubeconfig" <<EOT
apiVersion: v1
kind: Config
clusters: [{name: local, cluster: {server: "$(api_server)", certificate-authority: "$PKI/ca.crt"}}]
users: [{name: $1, user: {client-certificate: "$STATE/pki/$1.crt", client-key: "$STATE/pki/$1.key"}}]
contexts: [{name: local, context: {cluster: local, user: $1}}]
current-context: local
EOT
}

write_kubelet_config() {
	mkdir -p "$STATE/kubelet"
	# The pods' upstream resolver is the host at its end of the link: a
	# resolver listening there answers, else lookups of outside names fail at
	# once (nothing here needs them; the host's own resolvers are out of the
	# node's network namespace).
	echo "nameserver $(link_ip 1)" >"$STATE/resolv.conf"
	cat >"$STATE/kubelet/config.yaml" <<EOT
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# cgroup v1 (hybrid) hosts need these; on v2 they are harmless.
failCgroupV1: false
failSwapOn: false
cgroupDriver: cgroupfs
# The node's pods live in a cgroup subtree of their own.
cgroupRoot: /$(cgroup_name)
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
podCIDR: "$(pod_cidr)"
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
EOT
}

write_proxy_config() {
	cat >"$STATE/kube-proxy.yaml" <<EOT
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: "$STATE/kube-proxy.kubeconfig"}
hostnameOverride: $NODE_NAME
mode: iptables
clusterCIDR: "$(pod_cidr)"
# conntrack's limits are the kernel's, not a namespace's: leave them alone.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
EOT
}

# forwarded_addrs: the host loopback services the node reaches (the API
# server, and the registries it pulls from).
forwarded_addrs() {
	local server addrs m url
	server=$(api_server)
	addrs=${server#https://}
	for m in ${REGISTRY_MIRRORS:-}; do
		url=${m#*=}
		url=${url#*://}
		case $url in 127.0.0.1:* | localhost:*) [[ " $addrs " == *" $url "* ]] || addrs="$addrs $url" ;; esac
	done
	echo "$addrs"
}

start_daemons() {
	if ! node_running portfwd; then
		# shellcheck disable=SC2046 # a list of addresses
		nohup nsenter --target "$(init_pid)" --pid -- "$BIN/portfwd" "/proc/$(init_pid)/ns/net" $(forwarded_addrs) >"$STATE/log/portfwd.log" 2>&1 &
	fi
	if ! node_running containerd; then
		write_containerd_config
		in_node_bg containerd "$BIN/containerd" --config "$STATE/containerd/config.toml"
		wait_for "the node's containerd (logs in $STATE/log)" 30 in_node "$BIN/ctr" --address "$CTRD_SOCK" version
	fi
	if ! node_running kubelet; then
		issue_cert kubelet "system:node:$NODE_NAME" system:nodes "$(link_ip 2)" 127.0.0.1
		write_kubeconfig kubelet
		write_kubelet_config
		in_node_bg kubelet "$BIN/kubelet" --config "$STATE/kubelet/config.yaml" --kubeconfig "$STATE/kubelet.kubeconfig" \
			--hostname-override "$NODE_NAME" --node-ip "$(link_ip 2)" --cert-dir "$STATE/pki" --node-labels "memcached.example.com/node=real"
	fi
	if ! node_running kube-proxy; then
		issue_cert kube-proxy system:kube-proxy system:node-proxier
		write_kubeconfig kube-proxy
		write_proxy_config
		in_node_bg kube-proxy "$BIN/kube-proxy" --config "$STATE/kube-proxy.yaml"
	fi
}

up() {
	local why
	why=$(why_not)$(unbuilt)
	[ -z "$why" ] || { echo "$why"; exit 3; }
	: "${KUBECONFIG:?}" "${PKI:?}" "${SANDBOX_IMAGE:?}"
	check_free_space
	start_namespaces
	claim_slot
	setup_network
	setup_mounts
	setup_cgroup
	start_daemons
	wait_for "node $NODE_NAME to be Ready (logs in $STATE/log)" 120 "$BIN/kubectl" wait --for=condition=Ready "node/$NODE_NAME" --timeout=1s
	log "$NODE_NAME is Ready: its own namespaces (init pid $(init_pid)), node IP $(link_ip 2) on host link $(host_link), pods $(pod_cidr) on bridge $BRIDGE, cgroup /$(cgroup_name)"
}

down() {
	[ -d "$STATE" ] || return 0
	local init p i left
	init=$(init_pid)
	if [ -n "$init" ]; then
		# The kubelet first, so that it does not restart what crictl stops;
		# then the pods, whose CNI DEL and unmounts run inside the node.
		p=$(node_pid kubelet)
		[ -z "$p" ] || { kill "$p" 2>/dev/null || true; for i in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done; }
		node_crictl --timeout 20s rmp --all --force >/dev/null 2>&1 || true
		# The init's end ends every process of its PID namespace: daemons,
		# shims and containers. The namespaces go with their last process.
		kill -KILL "$init" 2>/dev/null || true
		for i in $(seq 100); do [ -e "/proc/$init" ] || break; sleep 0.1; done
	fi
	if [ -n "$(slot)" ]; then
		ip link delete "$(host_link)" 2>/dev/null || true
		remove_cgroup
		left=$(leftovers)
	fi
	rm -rf "$STATE"
	[ -z "${left:-}" ] || die "stopped, but these are left on the host: $left"
	log "stopped; nothing of it is left on the host"
}

# leftovers names what of the node is still on the host after down: its
# process namespace's members, link, route, cgroups.
leftovers() {
	local out="" h
	[ -z "$(init_pid)" ] || out="$out init $(init_pid);"
	! ip link show "$(host_link)" >/dev/null 2>&1 || out="$out link $(host_link);"
	[ -z "$(ip -4 route show "$(pod_cidr)")" ] || out="$out route $(pod_cidr);"
	for h in $(cgroup_hierarchies); do [ ! -d "$h/$(cgroup_name)" ] || out="$out cgroup $h/$(cgroup_name);"; done
	echo "$out"
}

# snapshot prints the host state no node may change: the host's settings,
# links, routes, network namespaces, rules, mounts, cgroups, the processes
# of its own PID namespace that a node would run, and /run/containerd. A
# node's own link, route and cgroup (named mcnode<N>, 10.244.*,
# memcached-operator-node<N>) are left out, so that other nodes may come and
# go meanwhile: down checks that its own are gone.
snapshot() {
	local k p exe ours='mcnode[0-9]|10\.244\.|memcached-operator-node[0-9]'
	echo "# sysctls"
	for k in $SYSCTLS; do printf '%s=%s\n' "$k" "$(sysctl -n "$k" 2>/dev/null || echo absent)"; done
	echo "# links"
	ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | { grep -Ev "$ours" || true; } | sort
	echo "# routes"
	ip -4 route show | { grep -Ev "$ours" || true; } | sort
	echo "# netns"
	ip netns list 2>/dev/null | awk '{print $1}' | sort
	echo "# iptables"
	for k in filter nat mangle; do iptables -t "$k" -S 2>/dev/null | sed "s/^/$k /"; done
	echo "# nft tables"
	nft list tables 2>/dev/null | sort
	echo "# mounts"
	findmnt -rn -o TARGET | grep -E "^/run/containerd|^${STATE%/*}|kubelet|/run/netns" | sort || true
	echo "# cgroups"
	for k in $(cgroup_hierarchies); do find "$k" -maxdepth 1 -type d -name kubepods; done | sort
	echo "# processes"
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/ns/pid" 2>/dev/null)" = "$(readlink /proc/self/ns/pid)" ] || continue
		exe=$(readlink "$p/exe" 2>/dev/null) || continue
		case ${exe#"$BIN"/} in containerd | containerd-shim-runc-v2 | kubelet | kube-proxy | pause | portfwd) ;; *)
			grep -qa containerd-shim-runc-v2 "$p/cmdline" 2>/dev/null || continue ;;
		esac
		echo "${p#/proc/} $(tr '\0' ' ' <"$p/cmdline")"
	done | sort
	echo "# /run/containerd"
	find /run/containerd -printf '%p %y %s\n' 2>/dev/null | sort || true
	echo "# state"
	ls -d "$STATE" 2>/dev/null || true
}

status() {
	local c
	[ -n "$(init_pid)" ] || { echo "node: not running"; return; }
	echo "node: namespaces of init pid $(init_pid), slot $(slot) (link $(host_link), pods $(pod_cidr))"
	for c in portfwd containerd kubelet kube-proxy; do
		if node_running "$c"; then echo "$c: running (pid $(node_pid "$c"))"; else echo "$c: stopped"; fi
	done
}

case ${1:-} in
check) why=$(why_not); [ -z "$why" ] || { echo "$why"; exit 3; } ;;
up) up ;;
down) down ;;
snapshot) snapshot ;;
status) status ;;
crictl) shift; [ -n "$(init_pid)" ] || die "the node is not running"
	node_crictl "$@" ;;
*) echo "usage: $0 check|up|down|snapshot|status|crictl ARGS..." >&2; exit 2 ;;
esac

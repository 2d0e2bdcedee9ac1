# The real node of the local cluster (included by the Makefile): its tools, its
# sandbox image, and starting/stopping it next to the control plane.

##@ Real node (containerd + runc + CNI + kubelet + kube-proxy joined to the local control plane)

CONTAINERD := $(LOCALBIN)/containerd
CRICTL := $(LOCALBIN)/crictl
COREDNS := $(LOCALBIN)/coredns
CNI_PLUGINS := bridge host-local loopback portmap
CNI_BINARIES := $(addprefix $(LOCALBIN)/cni/,$(CNI_PLUGINS))
PAUSE := $(LOCALBIN)/pause
PORTFWD := $(LOCALBIN)/portfwd
NODE_STATE := $(WORKDIR)/node
# Images are pulled from the checkout's local registries: containerd mirrors
# the images' registry host (IMAGE_TAG_BASE's, e.g. example.com), docker.io,
# quay.io and registry.access.redhat.com (where operator-sdk's default images
# live: make operator-sdk-images pushes stand-ins) to the HTTP one; each
# registry also serves under its own address (127.0.0.1:5443/... from the
# HTTPS one, whose CA the node trusts).
IMAGE_REGISTRY_HOST = $(firstword $(subst /, ,$(IMAGE_TAG_BASE)))
SANDBOX_IMAGE = $(IMAGE_REGISTRY_HOST)/pause:local
COREDNS_IMAGE = $(IMAGE_REGISTRY_HOST)/coredns:$(COREDNS_VERSION)

.PHONY: node-tools
node-tools: $(CONTAINERD) $(CNI_BINARIES) $(CRICTL) $(KUBELET) $(KUBE_PROXY) $(PAUSE) $(PORTFWD) $(COREDNS) ## Build the real node's tools (containerd, CNI plugins, crictl, kubelet, kube-proxy, pause, portfwd, CoreDNS).

$(CONTAINERD) $(LOCALBIN)/containerd-shim-runc-v2 $(LOCALBIN)/ctr &: hack/tools/containerd/go.mod hack/tools/containerd/go.sum
	$(BUILD_TOOL) containerd $(LOCALBIN) "$(addprefix github.com/containerd/containerd/v2/cmd/,containerd containerd-shim-runc-v2 ctr)"
$(CNI_BINARIES) &: hack/tools/cni/go.mod hack/tools/cni/go.sum
	$(BUILD_TOOL) cni $(LOCALBIN)/cni "$(addprefix github.com/containernetworking/plugins/plugins/,ipam/host-local main/bridge main/loopback meta/portmap)"
$(CRICTL): hack/tools/cri/go.mod hack/tools/cri/go.sum
	$(BUILD_TOOL) cri $@ sigs.k8s.io/cri-tools/cmd/crictl
$(COREDNS): hack/tools/coredns/go.mod hack/tools/coredns/go.sum hack/tools/coredns/cmd/coredns/main.go
	$(BUILD_TOOL) coredns $@ ./cmd/coredns
$(PAUSE): hack/node/pause/main.go
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o $@ ./hack/node/pause
$(PORTFWD): hack/node/portfwd/main.go
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o $@ ./hack/node/portfwd

NODE_ENV = BIN=$(LOCALBIN) STATE=$(NODE_STATE) KUBECONFIG=$(LOCAL_KUBECONFIG) \
	PKI=$(KWOK_WORKDIR)/clusters/$(CLUSTER_NAME)/pki SANDBOX_IMAGE=$(SANDBOX_IMAGE) \
	REGISTRY_MIRRORS="$(foreach h,$(IMAGE_REGISTRY_HOST) docker.io quay.io registry.access.redhat.com $(LOCAL_HTTP_REGISTRY),$(h)=http://$(LOCAL_HTTP_REGISTRY)) $(LOCAL_TLS_REGISTRY)=https://$(LOCAL_TLS_REGISTRY)" \
	REGISTRY_CA=$(REGISTRY_TLS_DIR)/tls/ca.crt \
	HOST_PORTS="LOCAL_HTTP_REGISTRY=$(LOCAL_HTTP_REGISTRY) LOCAL_TLS_REGISTRY=$(LOCAL_TLS_REGISTRY)" \
	OWN_PIDFILES="$(REGISTRY_DIR)/pid $(REGISTRY_TLS_DIR)/pid"
IMAGE_ENV = CONTAINER_TOOL=$(CONTAINER_TOOL) BUILD_FLAGS="$(BUILD_FLAGS)" BUILDAH_FLAGS="$(BUILDAH_FLAGS)" LOCAL_REGISTRY=$(LOCAL_REGISTRY)

.PHONY: node-images
node-images: $(PAUSE) $(COREDNS) deps registry-up ## Build the node's sandbox and CoreDNS images and push them to the local registry.
	@mkdir -p $(WORKDIR)/images/pause $(WORKDIR)/images/coredns
	@cp $(PAUSE) $(WORKDIR)/images/pause/pause && cp $(COREDNS) $(WORKDIR)/images/coredns/coredns
	@$(IMAGE_ENV) hack/image.sh $(SANDBOX_IMAGE) hack/node/pause/Containerfile $(WORKDIR)/images/pause
	@$(IMAGE_ENV) hack/image.sh $(COREDNS_IMAGE) hack/node/coredns.Containerfile $(WORKDIR)/images/coredns

.PHONY: node-check
node-check: ## Say whether a real node can run on this machine (and why not).
	@$(NODE_ENV) hack/node.sh check && echo "a real node can run here"

.PHONY: node-up
node-up: node-tools node-images registry-tls-up ## Start the real node, join it to the running local cluster, run CoreDNS on it.
	@$(NODE_ENV) hack/node.sh up
	@sed 's#@COREDNS_IMAGE@#$(COREDNS_IMAGE)#' hack/node/coredns.yaml | $(KUBECTL) apply --server-side -f - >/dev/null
	@$(KUBECTL) -n kube-system rollout status deployment/coredns --timeout=120s >/dev/null && echo "node: cluster DNS (CoreDNS) ready at 10.0.0.10"

.PHONY: node-down
node-down: ## Stop the real node: its init (and with it every process and namespace of the node), its veth link and cgroup; fails naming anything of it left on the host.
	@$(NODE_ENV) hack/node.sh down

.PHONY: node-status
node-status: ## Show the real node's components.
	@$(NODE_ENV) hack/node.sh status

##@ Real-node lane: images that run, memcached that answers

# The operand images the manifests and every released bundle name
# (docker.io/library/memcached:<tag>): offline, the real node pulls docker.io
# from the local registry, where a stand-in built from Debian's memcached
# (hack/images/memcached) is pushed under each of those tags.
OPERAND_IMAGES = $(sort $(shell grep -rhoE 'docker\.io/library/memcached:[A-Za-z0-9._-]+' config/manager config/catalog/releases bundle/manifests))

.PHONY: operand-images
operand-images: deps registry-up ## Push the memcached stand-in (Debian's memcached on scratch) under every operand image tag the manifests and releases name.
	@hack/images/memcached/rootfs.sh $(WORKDIR)/images/memcached/rootfs
	@for img in $(OPERAND_IMAGES); do \
		$(IMAGE_ENV) hack/image.sh $$img hack/images/memcached/Containerfile $(WORKDIR)/images/memcached || exit 1; done

.PHONY: deploy-images
deploy-images: build deps registry-up operand-images ## Build the operator image IMG, push it and the operand images to the local registry.
	@$(IMAGE_ENV) hack/image.sh $(IMG) Dockerfile . --build-arg BASE_IMAGE=$(BASE_IMAGE)

.PHONY: test-node
test-node: deps node-tools ## The real-node lane on a cluster of its own: operator pod, memcached answering, restricted pods, host restored.
	MAKE="$(MAKE)" BIN=$(LOCALBIN) WORKDIR=$(WORKDIR) hack/test-node.sh

.PHONY: test-node-host
test-node-host: deps node-tools node-images operand-images ## The real node as a guest on this host: decoys of another node's state left as they were, refusals of what it cannot share, two real-node clusters side by side.
	OPERAND_IMAGE=$(firstword $(OPERAND_IMAGES)) $(GOTEST) $(TEST_FLAGS) -count=1 -v -tags $(GO_TAGS),nodehost -timeout 20m ./test/nodehost/...

SCRAPE_IMAGE = $(IMAGE_REGISTRY_HOST)/memcached-operator-scrape-test:local

# The scrape image as the node pulls it from the HTTPS registry.
TLS_SCRAPE_IMAGE = $(LOCAL_TLS_REGISTRY)/$(patsubst $(IMAGE_REGISTRY_HOST)/%,%,$(SCRAPE_IMAGE))

.PHONY: test-node-run
test-node-run: deps registry-up registry-tls-up
	@mkdir -p $(WORKDIR)/images/scrape && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o $(WORKDIR)/images/scrape/scrape ./test/node/scrape
	@$(IMAGE_ENV) hack/image.sh $(SCRAPE_IMAGE) test/node/scrape/Containerfile $(WORKDIR)/images/scrape
	@$(IMAGE_ENV) LOCAL_REGISTRY=$(LOCAL_TLS_REGISTRY) hack/image.sh $(SCRAPE_IMAGE) test/node/scrape/Containerfile $(WORKDIR)/images/scrape
	RELIABILITY_REPORT=$(RELIABILITY_REPORT) RELIABILITY_FULL=$(RELIABILITY_FULL) OPERATOR_NAMESPACE=memcached-operator-system IMG=$(IMG) SANDBOX_IMAGE=$(SANDBOX_IMAGE) SCRAPE_IMAGE=$(SCRAPE_IMAGE) TLS_SCRAPE_IMAGE=$(TLS_SCRAPE_IMAGE) NODE_STATE=$(NODE_STATE) NODE_BIN=$(LOCALBIN) REGISTRY_TLS_DIR=$(REGISTRY_TLS_DIR) \
		$(GOTEST) $(TEST_FLAGS) -count=1 -v -tags $(GO_TAGS),node -timeout 15m ./test/node/...

##@ Real-node lane: scorecard tests as pods

# The untar image of the test pods: OLM's util image (make olm-util-image) has tar and gzip.
SCORECARD_UNTAR_IMAGE ?= $(OLM_UTIL_IMG)

.PHONY: scorecard-images
scorecard-images: scorecard-test-binary registry-up olm-util-image ## Push the scorecard test image SCORECARD_IMG where the real node pulls it (LOCAL_REGISTRY), with OLM's util image (the untar image of the test pods).
	@$(IMAGE_ENV) hack/image.sh $(SCORECARD_IMG) scorecard/Dockerfile . --build-arg BASE_IMAGE=$(BASE_IMAGE)

.PHONY: test-scorecard-node
test-scorecard-node: sdk scorecard-images $(CRICTL) $(KUBECTL) ## Scorecard tests as pods on the real node against the deployed operator (make deploy): results equal the in-process runner's, outputs parse, shipped RBAC, nothing left behind; operator-sdk's own scorecard and test image on our bundle.
	@if [ -x "$(SCORECARD_TEST_BIN)" ]; then $(MAKE) --no-print-directory scorecard-test-image; fi
	@# Test pods pull IfNotPresent: drop the node's copy so it runs the image just pushed.
	@$(NODE_ENV) hack/node.sh crictl rmi $(SCORECARD_IMG) >/dev/null 2>&1 || true
	SDK=$(SDK) KUBECTL=$(KUBECTL) UNTAR_IMAGE=$(SCORECARD_UNTAR_IMAGE) SCORECARD_TEST_IMAGE=$(SCORECARD_TEST_IMAGE) \
		$(GOTEST) $(TEST_FLAGS) -count=1 -tags $(GO_TAGS),scorecardnode -timeout 20m -v ./test/scorecard-node/...

# The tools (included by the Makefile): every command built from a pinned module
# of hack/tools into bin/ (hack/build-tool.sh).

##@ Tools (built from pinned Go modules into bin/; nothing is downloaded prebuilt)

BUILD_TOOL := hack/build-tool.sh
K8S_LDFLAGS := -ldflags "-s -w \
	-X k8s.io/component-base/version.gitVersion=$(K8S_VERSION) \
	-X k8s.io/component-base/version.gitMajor=$(word 1,$(subst ., ,$(K8S_VERSION:v%=%))) \
	-X k8s.io/component-base/version.gitMinor=$(word 2,$(subst ., ,$(K8S_VERSION:v%=%))) \
	-X k8s.io/component-base/version.gitTreeState=clean"

.PHONY: tools
tools: gen-tools cluster-tools ## Build every tool the default targets need.

.PHONY: tool-versions
tool-versions: ## Print every tool built from hack/tools with the version its go.mod pins.
	@$(TOOL_VERSION)

.PHONY: gen-tools
gen-tools: $(CONTROLLER_GEN) $(KUSTOMIZE) ## Build controller-gen and kustomize.

.PHONY: cluster-tools
cluster-tools: $(ETCD) $(KUBE_APISERVER) $(KUBE_CONTROLLER_MANAGER) $(KUBE_SCHEDULER) $(KUBECTL) $(KWOK) $(KWOKCTL) ## Build the local control plane (cold: ~15 min on 2 cores).

.PHONY: image-tools
image-tools: $(OPM) $(REGISTRY) ## Build opm and the distribution registry.

$(OPM): hack/tools/opm/go.mod hack/tools/opm/go.sum
	$(BUILD_TOOL) opm $@ github.com/operator-framework/operator-registry/cmd/opm -tags containers_image_openpgp,json1
$(REGISTRY): hack/tools/registry/go.mod hack/tools/registry/go.sum
	$(BUILD_TOOL) registry $@ github.com/distribution/distribution/v3/cmd/registry
.PHONY: olm-tools
olm-tools: $(OLM) $(OLM_CATALOG) ## Build OLM's olm and catalog operators.

$(OLM): hack/tools/olm/go.mod hack/tools/olm/go.sum
	$(BUILD_TOOL) olm $@ github.com/operator-framework/operator-lifecycle-manager/cmd/olm
$(OLM_CATALOG): hack/tools/olm/go.mod hack/tools/olm/go.sum
	$(BUILD_TOOL) olm $@ github.com/operator-framework/operator-lifecycle-manager/cmd/catalog
$(CONTROLLER_GEN): hack/tools/gen/go.mod hack/tools/gen/go.sum
	$(BUILD_TOOL) gen $@ sigs.k8s.io/controller-tools/cmd/controller-gen
$(KUSTOMIZE): hack/tools/gen/go.mod hack/tools/gen/go.sum
	$(BUILD_TOOL) gen $@ sigs.k8s.io/kustomize/kustomize/v5
$(ETCD): hack/tools/etcd/go.mod hack/tools/etcd/go.sum hack/tools/etcd/cmd/etcd/main.go
	$(BUILD_TOOL) etcd $@ ./cmd/etcd
# One `go build` for every Kubernetes command: they share most of their packages.
K8S_COMMANDS := kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy
K8S_BINARIES := $(addprefix $(LOCALBIN)/,$(K8S_COMMANDS))
$(K8S_BINARIES) &: hack/tools/k8s/go.mod hack/tools/k8s/go.sum
	$(BUILD_TOOL) k8s $(LOCALBIN) "$(addprefix k8s.io/kubernetes/cmd/,$(K8S_COMMANDS))" $(K8S_LDFLAGS)
$(KWOK): hack/tools/kwok/go.mod hack/tools/kwok/go.sum
	$(BUILD_TOOL) kwok $@ sigs.k8s.io/kwok/cmd/kwok
$(KWOKCTL): hack/tools/kwok/go.mod hack/tools/kwok/go.sum
	$(BUILD_TOOL) kwok $@ sigs.k8s.io/kwok/cmd/kwokctl

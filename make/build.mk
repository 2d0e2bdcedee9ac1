# Building the operator (included by the Makefile): generated code and manifests,
# the drift check, the manager binary and its image.

##@ Development

.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Generate the CRD and the manager's ClusterRole from markers (each file replaced whole, unchanged ones left alone).
	@rm -rf $(WORKDIR)/manifests && mkdir -p $(WORKDIR)/manifests
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd paths="./api/...;./internal/controller/..." \
		output:crd:artifacts:config=$(WORKDIR)/manifests/crd output:rbac:artifacts:config=$(WORKDIR)/manifests/rbac
	@hack/replace-files.sh $(WORKDIR)/manifests/crd config/crd/bases
	@hack/replace-files.sh $(WORKDIR)/manifests/rbac config/rbac

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate DeepCopy methods.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./api/..."

.PHONY: fmt
fmt: ## Run go fmt.
	go fmt ./...

.PHONY: vet
vet: ## Run go vet.
	go vet ./...

.PHONY: verify
verify: $(CONTROLLER_GEN) $(KUSTOMIZE) ## Fail on drift (generate manifests fmt bundle catalog run on a copy of the working tree, the generated files diffed; the tree is not written) and on build output tracked by git (binaries, files over 1 MiB).
	@hack/tracked-files.sh
	@LOCALBIN=$(LOCALBIN) hack/verify.sh

##@ Build

.PHONY: build
build: generate fmt vet ## Build the manager binary.
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o $(LOCALBIN)/manager ./cmd

.PHONY: run
run: manifests generate fmt vet ## Run the operator on this machine against the cluster KUBECONFIG names (default: the local one).
	go run ./cmd --health-probe-bind-address=0

.PHONY: docker-build
docker-build: build ## Build the operator image with CONTAINER_TOOL (buildah works here without a daemon).
	$(CONTAINER_TOOL) $(BUILD_FLAGS) --build-arg BASE_IMAGE=$(BASE_IMAGE) -t $(IMG) .

.PHONY: docker-push
docker-push: ## Push the operator image.
	$(CONTAINER_TOOL) $(if $(filter buildah,$(CONTAINER_TOOL)),$(BUILDAH_FLAGS) push $(PUSH_FLAGS),push) $(IMG)

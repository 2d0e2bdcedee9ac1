# The local cluster (included by the Makefile): kwok with our control plane,
# its one identity per WORKDIR, and deploying the operator to it without OLM.

##@ Local cluster (kwok on real kube-apiserver, controller-manager, scheduler and etcd; fake nodes)

# Who runs the pods: `simulated` (kwok's fake nodes) or `real` (also a real node,
# hack/node.sh, where pods run as containers; kwok's fake nodes are tainted so
# that no pod meant for it lands on them). `make node-check` says whether a real
# node can run on this machine.
NODE_LANE ?= $(or $(RECORDED_NODE_LANE),simulated)
ifneq ($(RECORDED_CLUSTER_NAME),)
ifneq ($(CLUSTER_NAME) $(NODE_LANE),$(RECORDED_CLUSTER_NAME) $(RECORDED_NODE_LANE))
$(error WORKDIR $(WORKDIR) holds cluster $(RECORDED_CLUSTER_NAME) (NODE_LANE=$(RECORDED_NODE_LANE)), not CLUSTER_NAME=$(CLUSTER_NAME) NODE_LANE=$(NODE_LANE): leave both out to act on that cluster, stop it first (make cluster-down WORKDIR=$(WORKDIR)), or give another WORKDIR)
endif
endif
ifneq ($(and $(filter-out %:%,$(KUBECONFIG)),$(wildcard $(dir $(KUBECONFIG))cluster.mk)),)
ifneq ($(abspath $(dir $(KUBECONFIG))),$(WORKDIR))
$(error KUBECONFIG=$(KUBECONFIG) is the cluster of WORKDIR $(abspath $(dir $(KUBECONFIG))), but WORKDIR=$(WORKDIR): give one of them, not both)
endif
endif

CLUSTER_ENV = KWOKCTL=$(KWOKCTL) KUBECTL=$(KUBECTL) KUBE_APISERVER=$(KUBE_APISERVER) \
	KUBE_CONTROLLER_MANAGER=$(KUBE_CONTROLLER_MANAGER) KUBE_SCHEDULER=$(KUBE_SCHEDULER) KWOK=$(KWOK) ETCD=$(ETCD) \
	CLUSTER_NAME=$(CLUSTER_NAME) CLUSTER_NODES=$(CLUSTER_NODES) LOCAL_KUBECONFIG=$(LOCAL_KUBECONFIG) \
	WORKDIR=$(WORKDIR) KWOKCTL_CREATE_FLAGS="$(KWOKCTL_CREATE_FLAGS)" NODE_LANE=$(NODE_LANE)

.PHONY: cluster-up
cluster-up: cluster-tools $(if $(filter real,$(NODE_LANE)),node-tools node-images) ## Start the local cluster (idempotent; NODE_LANE=real adds a real node, after checking the host can take it) and write its kubeconfig to WORKDIR/kubeconfig.
ifeq ($(NODE_LANE),real)
	@why=$$($(NODE_ENV) hack/node.sh check) || { echo "error: no real node can run here: $$why" >&2; exit 1; }
endif
	@$(CLUSTER_ENV) hack/cluster.sh up
ifeq ($(NODE_LANE),real)
	@$(MAKE) --no-print-directory node-up
endif

.PHONY: cluster-down
cluster-down: ## Stop the local cluster (and its real node) and delete its state; fails when anything of the node is left on the host.
	@st=0; $(NODE_ENV) hack/node.sh down || st=$$?; \
	$(CLUSTER_ENV) hack/cluster.sh down || true; \
	exit $$st

.PHONY: cluster-status
cluster-status: ## Show the local cluster's components and nodes.
	$(CLUSTER_ENV) hack/cluster.sh status
##@ Deployment (to the cluster KUBECONFIG names; default: the local cluster)


.PHONY: install
install: manifests $(KUSTOMIZE) $(KUBECTL) ## Install the CRDs into the cluster.
	$(KUSTOMIZE) build config/crd | $(KUBECTL) apply --server-side -f -

.PHONY: uninstall
uninstall: manifests $(KUSTOMIZE) $(KUBECTL) ## Remove the CRDs (and every Memcached) from the cluster.
	$(KUSTOMIZE) build config/crd | $(KUBECTL) delete --ignore-not-found -f -

.PHONY: deploy
deploy: manifests $(KUSTOMIZE) $(KUBECTL) ## Deploy the operator image IMG to the cluster without OLM.
	rm -rf $(WORKDIR)/deploy && mkdir -p $(WORKDIR)/deploy && cp -r config $(WORKDIR)/deploy/ && \
		cd $(WORKDIR)/deploy/config/manager && $(KUSTOMIZE) edit set image controller=$(IMG)
	$(KUSTOMIZE) build $(WORKDIR)/deploy/config/default | $(KUBECTL) apply --server-side --force-conflicts -f -

.PHONY: undeploy
undeploy: $(KUSTOMIZE) $(KUBECTL) ## Remove what deploy installed.
	$(KUSTOMIZE) build config/default | $(KUBECTL) delete --ignore-not-found -f -

# The first steps (included by the Makefile, after its `##@ Start here`): make demo
# in the lane this machine can run, make demo-down, make tutorial.

.PHONY: demo
# make demo's lane: `real` (a real node runs every pod, OLM runs in the cluster)
# where a real node can run here (make node-check), else `simulated` (kwok
# fakes the pods, the operator runs here). DEMO_LANE=simulated forces it.
DEMO_LANE ?=
# The real lane's cluster is its own (.work/demo-lane), as the test lane's is.
DEMO_REAL = CLUSTER_NAME=memcached-demo WORKDIR=$(WORKDIR)/demo-lane NODE_LANE=real OLM_LANE=in-cluster \
	KUBECONFIG=$(WORKDIR)/demo-lane/kubeconfig

demo: deps ## The main job: install from the catalog with OLM, sample reconciled, upgrade hop by hop to the head, on the real node where one can run.
	@MAKE="$(MAKE)" BIN=$(LOCALBIN) WORKDIR=$(WORKDIR) DEMO_LANE=$(DEMO_LANE) DEMO_REAL="$(DEMO_REAL)" hack/demo.sh up

.PHONY: demo-simulated
demo-simulated: build catalog $(OPM) olm-up
	go run ./cmd/demo --opm $(OPM) --manager $(LOCALBIN)/manager --catalog $(LOCAL_CATALOG) --state-dir $(WORKDIR)/demo

.PHONY: demo-real
demo-real: catalog cluster-up
	@$(MAKE) --no-print-directory olm-up
	@$(MAKE) --no-print-directory catalog-images operand-images >$(WORKDIR)/images.log 2>&1 || { tail -20 $(WORKDIR)/images.log; exit 1; }
	go run ./cmd/demo --catalog-image $(CATALOG_IMG) --catalog catalog --state-dir $(WORKDIR)/demo

.PHONY: demo-down
demo-down: olm-down cluster-down ## Stop everything demo and the tests started (the real lane's cluster too, restoring the host).
	-@$(MAKE) --no-print-directory $(DEMO_REAL) olm-down cluster-down >/dev/null 2>&1
	-@$(MAKE) --no-print-directory registry-down registry-tls-down
	-@WORKDIR=$(WORKDIR) hack/demo.sh down

.PHONY: tutorial
tutorial: deps build sdk cluster-up install ## The operator-sdk tutorial without OLM: CRD, operator running, sample reconciled and scaled.
	SDK=$(SDK) KUBECTL=$(KUBECTL) MANAGER=$(LOCALBIN)/manager WORKDIR=$(WORKDIR) hack/tutorial.sh

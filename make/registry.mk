# The local registries (included by the Makefile) and the bundle image's test
# against them.

##@ Local registry (distribution, on 127.0.0.1)

# Each checkout has two registries: LOCAL_HTTP_REGISTRY (plain HTTP) and
# LOCAL_TLS_REGISTRY (HTTPS, below). LOCAL_REGISTRY is where images are pushed,
# either of the two (default the HTTP one): the real node pulls from both.
# Each is the checkout's, whichever lane's WORKDIR a target runs with, and
# refuses to share its port with another's.
LOCAL_HTTP_REGISTRY ?= 127.0.0.1:5000
LOCAL_REGISTRY ?= $(LOCAL_HTTP_REGISTRY)
# The images the simulated lane's tests build from the working tree go to a
# path of their own: the real node pulls example.com/... from the registry's
# root, where only the releases' images (and the node's) are.
LOCAL_TEST_IMAGES = $(LOCAL_HTTP_REGISTRY)/check
LOCAL_TLS_TEST_IMAGES = $(LOCAL_TLS_REGISTRY)/check
REGISTRY_DIR := $(CURDIR)/.work/registry
REGISTRY_HTTP_ENV = REGISTRY=$(REGISTRY) LOCAL_REGISTRY=$(LOCAL_HTTP_REGISTRY) REGISTRY_DIR=$(REGISTRY_DIR)
REGISTRY_ENV = $(if $(filter $(LOCAL_TLS_REGISTRY),$(LOCAL_REGISTRY)),$(REGISTRY_TLS_ENV),$(REGISTRY_HTTP_ENV))

.PHONY: registry-up
registry-up: $(REGISTRY) ## Start the registry LOCAL_REGISTRY names, this checkout's HTTP one unless set (idempotent; refuses one it did not start).
	@$(REGISTRY_ENV) hack/registry.sh up

.PHONY: registry-down
registry-down: ## Stop the local HTTP registry.
	-@$(REGISTRY_HTTP_ENV) hack/registry.sh down

# A second registry that speaks HTTPS with a CA of its own, for clients that
# verify TLS (operator-sdk reads an index image from this host that way): export
# SSL_CERT_FILE=$(REGISTRY_TLS_DIR)/tls/ca-bundle.crt; the real node trusts the CA.
LOCAL_TLS_REGISTRY ?= 127.0.0.1:5443
REGISTRY_TLS_DIR := $(CURDIR)/.work/registry-tls
REGISTRY_TLS_ENV = REGISTRY=$(REGISTRY) LOCAL_REGISTRY=$(LOCAL_TLS_REGISTRY) REGISTRY_DIR=$(REGISTRY_TLS_DIR) REGISTRY_TLS=true

.PHONY: registry-tls-up
registry-tls-up: $(REGISTRY) ## Start this checkout's HTTPS registry on LOCAL_TLS_REGISTRY (CA and SSL_CERT_FILE bundle in .work/registry-tls/tls).
	@$(REGISTRY_TLS_ENV) hack/registry.sh up

.PHONY: registry-tls-down
registry-tls-down: ## Stop the HTTPS registry.
	-@$(REGISTRY_TLS_ENV) hack/registry.sh down

.PHONY: test-bundle-image
test-bundle-image: bundle sdk registry-up registry-tls-up $(OPM) ## Build the bundle image, push it to the local registries (HTTP and HTTPS), render it back with opm and compare with bundle/; a semver template naming it by digest renders as opm renders it.
	$(MAKE) bundle-build bundle-push BUNDLE_IMG=$(LOCAL_TEST_IMAGES)/memcached-operator-bundle:v$(VERSION) PUSH_FLAGS=--tls-verify=false
	$(MAKE) bundle-build bundle-push BUNDLE_IMG=$(LOCAL_TLS_TEST_IMAGES)/memcached-operator-bundle:v$(VERSION) PUSH_FLAGS=--tls-verify=false
	OPM=$(OPM) SDK=$(SDK) BUNDLE_IMG=$(LOCAL_TEST_IMAGES)/memcached-operator-bundle:v$(VERSION) \
		TLS_BUNDLE_IMG=$(LOCAL_TLS_TEST_IMAGES)/memcached-operator-bundle:v$(VERSION) REGISTRY_CA_BUNDLE=$(REGISTRY_TLS_DIR)/tls/ca-bundle.crt \
		$(GOTEST) $(TEST_FLAGS) -count=1 -tags $(GO_TAGS),image ./test/image/...


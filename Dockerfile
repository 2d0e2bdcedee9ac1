# The operator image: the static manager binary that `make build` produces
# (CGO_ENABLED=0) on a minimal base. BASE_IMAGE is overridable because an
# offline builder cannot pull one; `scratch` always works.
ARG BASE_IMAGE=gcr.io/distroless/static:nonroot
FROM ${BASE_IMAGE}
WORKDIR /
COPY bin/manager /manager
# A numeric non-root user, so runAsNonRoot can verify it without /etc/passwd.
USER 65532:65532
ENTRYPOINT ["/manager"]

# The catalog image: the file-based catalog in catalog/ served by opm.
# OPM_IMAGE is overridable; `make catalog-build` builds a local one from
# bin/opm because nothing can be pulled on an offline builder.
ARG OPM_IMAGE=quay.io/operator-framework/opm:v1.74.0
FROM ${OPM_IMAGE}

ENTRYPOINT ["/bin/opm"]
CMD ["serve", "/configs", "--cache-dir=/tmp/cache"]

ADD catalog /configs
# Build the serve cache at image build time, so pods start fast and the
# cache's integrity check passes.
RUN ["/bin/opm", "serve", "/configs", "--cache-dir=/tmp/cache", "--cache-only"]

LABEL operators.operatorframework.io.index.configs.v1=/configs

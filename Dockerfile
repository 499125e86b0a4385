# syntax=docker/dockerfile:1.7
#
# tangent, CPU image: Node 20 on Debian bookworm with the native TensorFlow
# backend (@tensorflow/tfjs-node on libtensorflow from PyPI's tensorflow-cpu
# wheel, built by infra/tfjs/install-native.sh, the route CI uses).
#
#   docker build -t tangent .
#   docker run --rm -e KAFKA_BROKERS=host:9092 -p 9464:9464 tangent
#
# Every install/build command is a step of scripts/image-build-steps.sh, which
# CI also runs outside Docker (test/integration/image-build-steps.test.ts).
# Build args:
#   NODE_VERSION      Node.js image tag prefix (default 20; engines: >=20.19)
#   BUILD_IMAGE       the build stage's base (default node:${NODE_VERSION}-bookworm: Node, npm,
#                     g++, make, python3)
#   RUNTIME_IMAGE     the runtime stage's base (default node:${NODE_VERSION}-bookworm-slim)
#                     Without a registry, infra/containers/images.sh builds stand-ins from Debian:
#                     --build-arg BUILD_IMAGE=localhost/tangent-node:20-bookworm
#                     --build-arg RUNTIME_IMAGE=localhost/tangent-node:20-bookworm-slim
#   TANGENT_NATIVE    required (default): fail the build unless the native backend loads;
#                     optional: fall back to wasm/cpu (e.g. on arm64, where the route has no wheel)

ARG NODE_VERSION=20
ARG BUILD_IMAGE=node:${NODE_VERSION}-bookworm
ARG RUNTIME_IMAGE=node:${NODE_VERSION}-bookworm-slim

# ---------------------------------------------------------------- build stage
# The full Debian image: g++, make and python3 for node-gyp and the wheel download.
FROM ${BUILD_IMAGE} AS build
ARG TANGENT_NATIVE=required
ENV TANGENT_VARIANT=cpu \
    TANGENT_NATIVE=${TANGENT_NATIVE} \
    TANGENT_CACHE=/var/cache/tangent \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_BREAK_SYSTEM_PACKAGES=1
# Debian/Ubuntu point releases replace package versions: pin the base image, not apt versions.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3-pip unzip \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# Dependencies first, so a source change does not re-run npm ci and the native build.
COPY package.json package-lock.json ./
COPY scripts/image-build-steps.sh scripts/
COPY infra/tfjs/ infra/tfjs/
RUN --mount=type=cache,target=/root/.npm \
    --mount=type=cache,target=/var/cache/tangent \
    bash scripts/image-build-steps.sh install
COPY tsconfig.json tsconfig.build.json ./
COPY src/ src/
RUN bash scripts/image-build-steps.sh build verify prune

# -------------------------------------------------------------- runtime stage
FROM ${RUNTIME_IMAGE} AS runtime
# tini: PID 1 that forwards SIGTERM (tangent drains and commits on it) and reaps zombies.
# Debian/Ubuntu point releases replace package versions: pin the base image, not apt versions.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 tangent \
 && useradd --system --uid 10001 --gid tangent --home-dir /var/lib/tangent --shell /usr/sbin/nologin tangent \
 && mkdir -p /var/lib/tangent /etc/tangent \
 && chown tangent:tangent /var/lib/tangent
WORKDIR /app
ENV NODE_ENV=production \
    TANGENT_METRICS_HOST=0.0.0.0 \
    TF_CPP_MIN_LOG_LEVEL=2
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules/ node_modules/
COPY --from=build /app/dist/ dist/
COPY scripts/image-build-steps.sh scripts/
COPY pipelines/ pipelines/
COPY pipelines/default.yaml /etc/tangent/pipeline.yaml
USER 10001:10001
# The working directory is the checkpoint volume: the default `checkpoint.dir: checkpoints`
# (relative) lands on it, writable by the tangent user; /app stays read-only.
WORKDIR /var/lib/tangent
# Metrics (/metrics), liveness (/healthz), readiness (/readyz).
EXPOSE 9464
# POST /predict (serving.port: the metrics port + 1).
EXPOSE 9465
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["bash", "/app/scripts/image-build-steps.sh", "healthcheck"]
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/dist/cli.js"]
CMD ["run", "--pipeline", "/etc/tangent/pipeline.yaml"]

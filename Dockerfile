# syntax=docker/dockerfile:1
#
# churn-serve container image.
#
#   make image        (passes REVISION and CREATED, see the runtime stage), or
#   docker build --build-arg REVISION="$(git rev-parse HEAD)" \
#     --build-arg CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)" -t churn-serve:0.1.0 .
#   docker run --rm -p 8000:8000 churn-serve:0.1.0
#
# Four stages make the service image, and it uses every one of them (a stage
# nothing uses is skipped by BuildKit and buildah, so its breakage would go
# unnoticed; scripts/check_container.sh builds both targets):
#   ort      fetches the pinned ONNX Runtime library from the PyPI wheel
#   builder  compiles the release binary (dependencies get their own layer)
#            and writes its CycloneDX SBOM
#   app      distroless + libonnxruntime + model + config, non-root, the shared
#            OCI labels: what both
#            images share
#   runtime  app + the binary and its SBOM, serving HTTP
# Two more make the AWS Lambda image (`--target lambda`; runtime stays the
# default, being last):
#   lambda-builder  the same build with the `lambda` feature
#   lambda          app + that binary, answering the Lambda Runtime API
#                   instead of listening on a port
#
# Base images are pinned by digest: a tag such as rust:1.95-slim-bookworm is
# re-pushed whenever its Debian base is rebuilt, so the same commit could
# otherwise build on different bytes. Each digest is that of the tag's
# multi-arch index (not one platform's manifest), so amd64 and arm64 builds
# share one pin; the tag stays in the reference for people and scanners (the
# digest wins). scripts/pin_base_images.sh re-resolves all three where the
# registries are reachable; docs/supply-chain.md says where these came from.
# Any base can still be swapped with --build-arg, e.g.
#   --build-arg RUNTIME_IMAGE=docker.io/library/debian:bookworm-slim
# (any glibc >= 2.28 base works; debian:bookworm-slim has no `nonroot`
# user, but USER below is numeric, so it runs as 65532 there too).
# scripts/check_container.sh builds and runs this file for real in CI.

# python:3.11-slim-bookworm (Python 3.11.16, built 2026-08-25)
ARG PYTHON_IMAGE=docker.io/library/python:3.11-slim-bookworm@sha256:0bee7276f83efd4a1ee05bbbf4281d95ed28e079220a9457f25a93e3f1e3c31b
# rust:1.95-slim-bookworm (Rust 1.95.0, a late-May 2026 build on Debian snapshot 2026-05-18)
ARG RUST_IMAGE=docker.io/library/rust:1.95-slim-bookworm@sha256:d7482085ff5b415f84dba5647ae71606650bdef00db7aeb69f4b3d170c3e4082
# gcr.io/distroless/cc-debian12:nonroot
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot@sha256:9dac0a79194e45a7da0158a9c6da57b217585af0786db3845d1f0ec1a0dd182f

# --- ort: the ONNX Runtime shared library ------------------------------------
# scripts/install_ort.sh holds the one pinned version (1.31.1, the one ort
# 2.0.0-rc.15 targets) and extracts libonnxruntime.so.<version> plus a
# libonnxruntime.so symlink from the PyPI wheel: the same code path as `make ort`.
# It picks the wheel for TARGETARCH (set by buildx and buildah: amd64, arm64)
# and checks its pinned sha256.
FROM ${PYTHON_IMAGE} AS ort
ARG TARGETARCH
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore
COPY scripts/install_ort.sh /usr/local/bin/install_ort.sh
RUN bash /usr/local/bin/install_ort.sh /out

# --- builder: release binary ----------------------------------------------------
FROM ${RUST_IMAGE} AS builder
WORKDIR /build
# Symbols stripped: about half the binary's size, and the image ships no debugger.
ENV CARGO_TERM_COLOR=never \
    CARGO_INCREMENTAL=0 \
    CARGO_NET_RETRY=10 \
    CARGO_PROFILE_RELEASE_STRIP=symbols
# 0) The SBOM generator, compiled from crates.io at a pinned version with its
#    own lock file. First in the stage, before any project file, so the layer
#    is reused until the base image or this pin changes (a cold build spends
#    about 2 minutes on it on 2 cores).
ARG CARGO_CYCLONEDX_VERSION=0.5.9
RUN cargo install --locked "cargo-cyclonedx@${CARGO_CYCLONEDX_VERSION}"
# Only the manifest's [[bench]]/[[test]]/[[example]] tables name files that this
# build does not copy (benches/, tests/); cargo refuses a manifest whose
# targets are missing, so both builds below drop those tables first.
# The SBOM (step 2) describes the binary: the crates Cargo.lock resolves for
# the platform being built (cargo-cyclonedx's default target is the host, and
# this stage builds natively), without dev-dependencies or build scripts'
# build-dependencies (cargo-cyclonedx reads `cargo metadata`, so a crate that
# only a dev-dependency's features pull in may be listed although unused).
# 1) Dependencies in their own layer: a stub crate with the real manifest and
#    lock file; this layer is reused until Cargo.toml or Cargo.lock changes.
COPY Cargo.toml Cargo.lock ./
RUN set -eux; \
    awk '/^\[\[(bench|test|example)\]\]/ {skip = 1; next} /^\[/ {skip = 0} !skip' Cargo.toml > Cargo.build.toml; \
    mv Cargo.build.toml Cargo.toml; \
    mkdir src; \
    echo 'fn main() {}' > src/main.rs; \
    : > src/lib.rs; \
    cargo build --release --locked; \
    rm -rf src target/release/churn-serve target/release/deps/churn_serve-* \
        target/release/deps/libchurn_serve-* target/release/.fingerprint/churn-serve-*
# 2) The service itself.
COPY Cargo.toml ./
COPY src ./src
RUN set -eux; \
    awk '/^\[\[(bench|test|example)\]\]/ {skip = 1; next} /^\[/ {skip = 0} !skip' Cargo.toml > Cargo.build.toml; \
    mv Cargo.build.toml Cargo.toml; \
    touch src/main.rs src/lib.rs; \
    cargo build --release --locked; \
    install -D -m 0755 target/release/churn-serve /out/churn-serve; \
    /out/churn-serve --version; \
    cargo cyclonedx --format json --spec-version 1.5 --describe binaries --no-build-deps; \
    install -m 0644 churn-serve_bin.cdx.json /out/sbom.cdx.json

# --- lambda-builder: the binary with the Lambda runtime client ------------------
FROM builder AS lambda-builder
RUN set -eux; \
    cargo build --release --locked --features lambda; \
    install -D -m 0755 target/release/churn-serve /out/lambda/churn-serve; \
    /out/lambda/churn-serve lambda --help; \
    cargo cyclonedx --format json --spec-version 1.5 --describe binaries --no-build-deps --features lambda; \
    install -m 0644 churn-serve_bin.cdx.json /out/lambda/sbom.cdx.json

# --- app: the runtime base both images share ----------------------------------
# Why distroless cc-debian12 and not debian:bookworm-slim: it has exactly what a
# glibc binary plus libonnxruntime (C++) needs -- glibc, libgcc_s, libstdc++,
# CA certificates, tzdata -- and no shell, package manager or coreutils, so it
# is ~25 MB instead of ~75 MB and offers far less to an attacker. Nothing in
# the image needs a shell: the HEALTHCHECK is the binary's own `healthcheck`
# subcommand. Its `nonroot` variant is the same image with USER 65532.
FROM ${RUNTIME_IMAGE} AS app
WORKDIR /app
# Everything is owned by root and read-only for the service user; the service
# writes nothing to disk, so the root file system can be mounted read-only.
COPY --from=ort /out/ /app/lib/
COPY models/churn_pipeline.onnx models/churn_pipeline.json /app/models/
COPY configs/*.toml /app/configs/
# The binary finds models/ and configs/ relative to the working directory
# (/app) and the library in lib/ beside itself; ORT_DYLIB_PATH just says so.
ENV LOG_FORMAT=json \
    ORT_DYLIB_PATH=/app/lib/libonnxruntime.so
USER 65532:65532
ENTRYPOINT ["/app/churn-serve"]
# Labels both images carry; each target adds its title and description.
ARG VERSION=0.1.0
LABEL org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="https://github.com/example/churn-serve" \
      org.opencontainers.image.licenses="Apache-2.0"

# --- lambda: AWS Lambda container image --------------------------------------------
#   docker build --target lambda -t churn-serve-lambda:0.1.0 .
# Lambda runs any image whose entry point speaks the Runtime API; this binary
# does (lambda_http), so the base is the same distroless one and no AWS base
# image or runtime interface client is needed. Lambda ignores USER and runs
# as its own non-root user; every file is world-readable, and nothing is
# written. One inference worker: an execution environment gets one event at
# a time, and its CPU share grows with the function's memory size.
FROM app AS lambda
LABEL org.opencontainers.image.title="churn-serve-lambda" \
      org.opencontainers.image.description="churn-serve for AWS Lambda: API Gateway and function URL events"
COPY --from=lambda-builder /out/lambda/churn-serve /app/churn-serve
COPY --from=lambda-builder /out/lambda/sbom.cdx.json /app/sbom.cdx.json
ENV CHURN_WORKERS=1
CMD ["lambda"]

# --- runtime: the service image (the default target) --------------------------------
FROM app AS runtime
LABEL org.opencontainers.image.title="churn-serve" \
      org.opencontainers.image.description="Bank customer churn prediction service: an ONNX-exported scikit-learn pipeline served over HTTP"
COPY --from=builder /out/churn-serve /app/churn-serve
# CycloneDX 1.5 JSON of the binary's dependency graph (read it with
# `podman cp`/`docker cp` from a created container; there is no shell).
COPY --from=builder /out/sbom.cdx.json /app/sbom.cdx.json
ENV PORT=8000
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
    CMD ["/app/churn-serve", "healthcheck"]
CMD ["serve"]
# Provenance, given by the build (make image, scripts/check_container.sh):
# REVISION the full commit hash, CREATED the build time in RFC 3339 UTC.
# Nothing in the build context can know them (.git is not sent), so they are
# empty when not passed rather than wrong. Last, so that they change nothing
# but the image config.
ARG REVISION=""
ARG CREATED=""
LABEL org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}"

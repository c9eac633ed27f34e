# syntax=docker/dockerfile:1
#
# churn-serve container image.
#
#   docker build -t churn-serve:0.1.0 .
#   docker run --rm -p 8000:8000 churn-serve:0.1.0
#
# Three stages, and the final image uses every one of them (a stage nothing
# uses is skipped by BuildKit and buildah, so its breakage would go unnoticed):
#   ort      fetches the pinned ONNX Runtime library from the PyPI wheel
#   builder  compiles the release binary; dependencies get their own layer
#   runtime  distroless: binary + libonnxruntime + model + config, non-root
#
# Base images are pinned by tag and can be swapped with --build-arg, e.g.
#   --build-arg RUNTIME_IMAGE=docker.io/library/debian:bookworm-slim
# (any glibc >= 2.28 base works; debian:bookworm-slim has no `nonroot`
# user, but USER below is numeric, so it runs as 65532 there too).
# scripts/check_container.sh builds and runs this file for real in CI.

ARG PYTHON_IMAGE=docker.io/library/python:3.11-slim-bookworm
ARG RUST_IMAGE=docker.io/library/rust:1.95-slim-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot

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
# Only the manifest's [[bench]]/[[test]]/[[example]] tables name files that this
# build does not copy (benches/, tests/); cargo refuses a manifest whose
# targets are missing, so both builds below drop those tables first.
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
    /out/churn-serve --version

# --- runtime ---------------------------------------------------------------------
# Why distroless cc-debian12 and not debian:bookworm-slim: it has exactly what a
# glibc binary plus libonnxruntime (C++) needs -- glibc, libgcc_s, libstdc++,
# CA certificates, tzdata -- and no shell, package manager or coreutils, so it
# is ~25 MB instead of ~75 MB and offers far less to an attacker. Nothing in
# the image needs a shell: the HEALTHCHECK is the binary's own `healthcheck`
# subcommand. Its `nonroot` variant is the same image with USER 65532.
FROM ${RUNTIME_IMAGE} AS runtime
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="churn-serve" \
      org.opencontainers.image.description="Bank customer churn prediction service: an ONNX-exported scikit-learn pipeline served over HTTP" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="https://github.com/example/churn-serve" \
      org.opencontainers.image.licenses="Apache-2.0"
WORKDIR /app
# Everything is owned by root and read-only for the service user; the service
# writes nothing to disk, so the root file system can be mounted read-only.
COPY --from=ort /out/ /app/lib/
COPY --from=builder /out/churn-serve /app/churn-serve
COPY models/churn_pipeline.onnx models/churn_pipeline.json /app/models/
COPY configs/*.toml /app/configs/
# The binary finds models/ and configs/ relative to the working directory
# (/app) and the library in lib/ beside itself; ORT_DYLIB_PATH just says so.
ENV LOG_FORMAT=json \
    PORT=8000 \
    ORT_DYLIB_PATH=/app/lib/libonnxruntime.so
USER 65532:65532
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
    CMD ["/app/churn-serve", "healthcheck"]
ENTRYPOINT ["/app/churn-serve"]
CMD ["serve"]

# churn-serve: every set-up step is a target, so a fresh machine needs only
# `make run` (serve the shipped model on :8000) or `make test` (all checks).
SHELL := /bin/bash
.DEFAULT_GOAL := help

.PHONY: help ort model build run test lint unit bench image

help: ## List targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

ort: ## Install the pinned ONNX Runtime library into .ort/lib
	@bash scripts/install_ort.sh

model: ## Regenerate data, model, metadata and golden file (Python venv)
	bash scripts/model.sh

build: ort ## Release build
	cargo build --release --locked

run: build ## Serve the shipped model on port 8000
	./target/release/churn-serve

lint: ## rustfmt and clippy
	cargo fmt --all -- --check
	cargo clippy --all-targets --locked -- -D warnings

unit: ort ## Rust unit and integration tests only
	cargo test --locked

test: ## Everything CI runs: lint, tests, model, container, k8s and API checks
	bash scripts/test.sh

bench: ## Criterion + HTTP load benchmark; writes benches/results.md
	bash scripts/bench.sh

image: ## Build the container image (docker, or podman/buildah)
	$(if $(shell command -v docker),docker,podman) build -t churn-serve:$(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1) .

# churn-serve: every set-up step is a target, so a fresh machine needs only
# `make run` (serve the shipped model on :8000) or `make test` (all checks).
SHELL := /bin/bash
.DEFAULT_GOAL := help

STAGES ?=

.PHONY: help ort model build run test lint unit bench image \
	check-lint check-rust check-model check-k8s check-deploy check-api check-reliability check-lifecycle check-drift \
	check-container fuzz

help: ## List targets
	@grep -E '^[a-z0-9-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

ort: ## Install the pinned ONNX Runtime library into .ort/lib
	@bash scripts/install_ort.sh

model: ## Regenerate data, model, metadata and golden file (Python venv)
	bash scripts/model.sh

build: ort ## Release build
	@echo "building the release binary (whole-program optimisation): the first build takes about 2-3 minutes on an idle 2-core machine, a rebuild after a change about 2" >&2
	cargo build --release --locked
	@echo "built target/release/churn-serve" >&2

run: build ## Serve the shipped model on port 8000
	./target/release/churn-serve

lint: ## rustfmt and clippy
	cargo fmt --all -- --check
	cargo clippy --all-targets --all-features --locked -- -D warnings

unit: ort ## Rust unit and integration tests only
	cargo test --locked

test: ## Every stage CI runs, then a table of results (STAGES="k8s api" picks some)
	bash scripts/test.sh $(STAGES)

check-lint: ## Stage: rustfmt, clippy, benchmark report unit tests, install_ort.sh wheel choice and pin, cargo-deny
	bash scripts/test.sh lint
check-rust: ## Stage: cargo test (unit, API, manifest and memory tests)
	bash scripts/test.sh rust
check-model: ## Stage: make model reproduces the committed artifacts byte for byte
	bash scripts/test.sh model
check-k8s: ## Stage: Kubernetes manifests, KServe and Cloud Run/Knative (kustomize, schemas, CRD schemas, checkov, yamllint)
	bash scripts/test.sh k8s
check-deploy: ## Stage: ECS Fargate Terraform module (HCL, AWS API models, checkov, terraform validate)
	bash scripts/test.sh deploy
check-api: ## Stage: OpenAPI, schemathesis, Swagger UI, V2 and FastAPI parity, README examples
	bash scripts/test.sh api
check-reliability: ## Stage: SIGTERM under load loses nothing; memory within the budget
	bash scripts/test.sh reliability
check-lifecycle: ## Stage: model hot swap against a real MLflow registry (aliases, rollback, refusals, under load)
	bash scripts/test.sh lifecycle
check-drift: ## Stage: drift scores equal numpy's and evidently's PSI on the test split and a shifted population
	bash scripts/test.sh drift
check-container: ## Stage: image build and run with podman, compose, Prometheus
	bash scripts/test.sh container

fuzz: ort ## Property-based fuzzing of bodies and credentials, 1,000,000 cases per property (CI runs 2,000)
	FUZZ_CASES=$${FUZZ_CASES:-1000000} cargo test --release --locked --test fuzz -- --nocapture

bench: ## Criterion + HTTP load benchmark (benches/run.sh); writes benches/results.md
	bash benches/run.sh

image: ## Build the container image (docker, or podman/buildah)
	@# OCI labels: revision = the commit, created = now (or SOURCE_DATE_EPOCH, for reproducible builds).
	$(if $(shell command -v docker),docker,podman) build --target runtime \
		--build-arg REVISION="$$(git rev-parse HEAD)" \
		--build-arg CREATED="$$(date -u -d "@$${SOURCE_DATE_EPOCH:-$$(date +%s)}" +%Y-%m-%dT%H:%M:%SZ)" \
		-t churn-serve:$(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1) .

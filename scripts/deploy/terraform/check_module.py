"""Offline checks of the Terraform module in deploy/terraform.

Usage: check_module.py MODULE_DIR TFVARS CONFIG_TOML [OUT_DIR]

1. parse: every .tf file with python-hcl2; counts; every variable and output
   has a description, every variable a type.
2. evaluate: the module with the example .tfvars (hcl_eval): variable
   validations and resource preconditions pass; every local, argument and
   output evaluates (an undeclared reference fails here).
3. API requests: what the AWS provider sends for each resource, built from
   the evaluated arguments, validated against botocore's service models
   (unknown keys, types, required members, and -- beyond botocore's own
   validator -- enums and maxima), then the service's own rules (Fargate
   sizes, shutdown timings, probes, paths, least privilege).
4. variants: other inputs that must be accepted (digest image, larger task)
   and bad ones the validations or preconditions must reject.
5. the README's module block names only declared variables and every
   required one.
With OUT_DIR, also writes OUT_DIR/rendered, the copy of the module checkov
scans (see render_for_checkov), and OUT_DIR/tftest, a `terraform test` that
asserts Terraform evaluates the module as hcl_eval did (terraform_test).

Exits 1 on the first stage that fails, after printing what failed.
"""

from __future__ import annotations

import json
import re
import sys
import tomllib
from pathlib import Path
from typing import Any

import botocore.session
from botocore.validate import ParamValidator

import hcl2
import hcl_eval as h

# ---- Terraform argument -> API member mappings ---------------------------------
# What the AWS provider (5.x/6.x) sends. Arguments listed under TF_ONLY
# shape only Terraform's behaviour. Anything neither mapped nor TF_ONLY fails,
# so a new argument in the module must be mapped here before it passes.

TF_ONLY = {
    "aws_ecs_task_definition": {"skip_destroy", "track_latest"},
    "aws_ecs_service": {"wait_for_steady_state", "force_new_deployment", "triggers"},
    "aws_lb_target_group": set(),
    "aws_lb_listener_rule": set(),
    "aws_appautoscaling_target": set(),
    "aws_appautoscaling_policy": set(),
    "aws_cloudwatch_log_group": {"skip_destroy"},
    "aws_iam_role": {"force_detach_policies"},
    "aws_iam_role_policy": set(),
    "aws_security_group": {"revoke_rules_on_delete"},
    "aws_vpc_security_group_ingress_rule": set(),
    "aws_vpc_security_group_egress_rule": set(),
}


class CheckError(Exception):
    pass


def take(args: dict, mapping: dict[str, Any], rtype: str, what: str) -> dict:
    """Map a resource's evaluated arguments to API members. mapping values:
    a member name, or a function (value) -> {member: value}."""
    out: dict[str, Any] = {}
    for name, value in args.items():
        if name in TF_ONLY.get(rtype, set()):
            continue
        if name not in mapping:
            raise CheckError(f"{what}: argument {name!r} is not mapped to the API in check_module.py")
        if value is None:
            continue
        target = mapping[name]
        if callable(target):
            for k, v in target(value).items():
                if isinstance(v, dict) and isinstance(out.get(k), dict):
                    out[k].update(v)
                else:
                    out[k] = v
        else:
            out[target] = value
    return out


def one(blocks: list | None, what: str) -> dict:
    if not blocks or len(blocks) != 1:
        raise CheckError(f"{what}: exactly one block expected, got {len(blocks or [])}")
    return blocks[0]


def ecs_tags(tags):
    return {"tags": [{"key": k, "value": v} for k, v in sorted(tags.items())]} if tags else {}


def elb_tags(tags):
    return {"Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]} if tags else {}


def iam_tags(tags):
    return {"Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]} if tags else {}


def task_definition_request(a: dict) -> dict:
    def runtime_platform(blocks):
        rp = one(blocks, "runtime_platform")
        return {"runtimePlatform": take(rp, {"operating_system_family": "operatingSystemFamily", "cpu_architecture": "cpuArchitecture"}, "", "runtime_platform")}

    def volumes(blocks):
        return {"volumes": [take(v, {"name": "name", "host_path": lambda p: {"host": {"sourcePath": p}}}, "", "volume") for v in blocks]}

    def containers(text):
        if not isinstance(text, str):
            raise CheckError("container_definitions must be a JSON string (jsonencode)")
        return {"containerDefinitions": json.loads(text)}

    return take(a, {
        "family": "family",
        "cpu": "cpu",
        "memory": "memory",
        "network_mode": "networkMode",
        "requires_compatibilities": "requiresCompatibilities",
        "execution_role_arn": "executionRoleArn",
        "task_role_arn": "taskRoleArn",
        "pid_mode": "pidMode",
        "ipc_mode": "ipcMode",
        "runtime_platform": runtime_platform,
        "volume": volumes,
        "ephemeral_storage": lambda b: {"ephemeralStorage": {"sizeInGiB": one(b, "ephemeral_storage")["size_in_gib"]}},
        "container_definitions": containers,
        "tags": ecs_tags,
    }, "aws_ecs_task_definition", "aws_ecs_task_definition")


def service_request(a: dict) -> dict:
    def circuit_breaker(b):
        cb = one(b, "deployment_circuit_breaker")
        return {"deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": cb["enable"], "rollback": cb["rollback"]}}}

    def network(b):
        n = one(b, "network_configuration")
        cfg = take(n, {
            "subnets": "subnets",
            "security_groups": "securityGroups",
            "assign_public_ip": lambda v: {"assignPublicIp": "ENABLED" if v else "DISABLED"},
        }, "", "network_configuration")
        return {"networkConfiguration": {"awsvpcConfiguration": cfg}}

    def load_balancers(blocks):
        return {"loadBalancers": [take(lb, {"target_group_arn": "targetGroupArn", "container_name": "containerName", "container_port": "containerPort", "elb_name": "loadBalancerName"}, "", "load_balancer") for lb in blocks]}

    return take(a, {
        "name": "serviceName",
        "cluster": "cluster",
        "task_definition": "taskDefinition",
        "desired_count": "desiredCount",
        "launch_type": "launchType",
        "platform_version": "platformVersion",
        "deployment_minimum_healthy_percent": lambda v: {"deploymentConfiguration": {"minimumHealthyPercent": v}},
        "deployment_maximum_percent": lambda v: {"deploymentConfiguration": {"maximumPercent": v}},
        "deployment_circuit_breaker": circuit_breaker,
        "health_check_grace_period_seconds": "healthCheckGracePeriodSeconds",
        "network_configuration": network,
        "load_balancer": load_balancers,
        "enable_execute_command": "enableExecuteCommand",
        "enable_ecs_managed_tags": "enableECSManagedTags",
        "propagate_tags": "propagateTags",
        "tags": ecs_tags,
    }, "aws_ecs_service", "aws_ecs_service")


def target_group_requests(a: dict) -> tuple[dict, dict]:
    attributes: list[dict] = []

    def attr(key, fmt=str):
        return lambda v: attributes.append({"Key": key, "Value": fmt(v)}) or {}

    def health_check(b):
        hc = one(b, "health_check")
        return take(hc, {
            "enabled": "HealthCheckEnabled",
            "protocol": "HealthCheckProtocol",
            "port": lambda v: {"HealthCheckPort": str(v)},
            "path": "HealthCheckPath",
            "interval": "HealthCheckIntervalSeconds",
            "timeout": "HealthCheckTimeoutSeconds",
            "healthy_threshold": "HealthyThresholdCount",
            "unhealthy_threshold": "UnhealthyThresholdCount",
            "matcher": lambda v: {"Matcher": {"HttpCode": v}},
        }, "", "health_check")

    create = take(a, {
        "name": "Name",
        "vpc_id": "VpcId",
        "target_type": "TargetType",
        "protocol": "Protocol",
        "protocol_version": "ProtocolVersion",
        "port": "Port",
        "health_check": health_check,
        "deregistration_delay": attr("deregistration_delay.timeout_seconds"),
        "load_balancing_algorithm_type": attr("load_balancing.algorithm.type"),
        "slow_start": attr("slow_start.duration_seconds"),
        "tags": elb_tags,
    }, "aws_lb_target_group", "aws_lb_target_group")
    modify = {"TargetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/x/0123456789abcdef", "Attributes": attributes}
    return create, modify


def listener_rule_request(a: dict) -> dict:
    def actions(blocks):
        return {"Actions": [take(x, {"type": "Type", "target_group_arn": "TargetGroupArn"}, "", "action") for x in blocks]}

    def conditions(blocks):
        out = []
        for c in blocks:
            for field_name, (api_field, cfg) in {
                "path_pattern": ("path-pattern", "PathPatternConfig"),
                "host_header": ("host-header", "HostHeaderConfig"),
            }.items():
                for blk in c.get(field_name, []):
                    out.append({"Field": api_field, cfg: {"Values": blk["values"]}})
            unknown = set(c) - {"path_pattern", "host_header"}
            if unknown:
                raise CheckError(f"listener rule condition {sorted(unknown)} is not mapped")
        return {"Conditions": out}

    return take(a, {
        "listener_arn": "ListenerArn",
        "priority": "Priority",
        "action": actions,
        "condition": conditions,
        "tags": elb_tags,
    }, "aws_lb_listener_rule", "aws_lb_listener_rule")


def scalable_target_request(a: dict) -> dict:
    return take(a, {
        "service_namespace": "ServiceNamespace",
        "resource_id": "ResourceId",
        "scalable_dimension": "ScalableDimension",
        "min_capacity": "MinCapacity",
        "max_capacity": "MaxCapacity",
        "tags": lambda t: {"Tags": dict(t)} if t else {},
    }, "aws_appautoscaling_target", "aws_appautoscaling_target")


def scaling_policy_request(a: dict) -> dict:
    def target_tracking(b):
        tt = one(b, "target_tracking_scaling_policy_configuration")

        def predefined(pb):
            p = one(pb, "predefined_metric_specification")
            return {"PredefinedMetricSpecification": take(p, {"predefined_metric_type": "PredefinedMetricType", "resource_label": "ResourceLabel"}, "", "predefined_metric_specification")}

        return {"TargetTrackingScalingPolicyConfiguration": take(tt, {
            "target_value": lambda v: {"TargetValue": float(v)},
            "scale_in_cooldown": "ScaleInCooldown",
            "scale_out_cooldown": "ScaleOutCooldown",
            "disable_scale_in": "DisableScaleIn",
            "predefined_metric_specification": predefined,
        }, "", "target_tracking_scaling_policy_configuration")}

    return take(a, {
        "name": "PolicyName",
        "policy_type": "PolicyType",
        "service_namespace": "ServiceNamespace",
        "resource_id": "ResourceId",
        "scalable_dimension": "ScalableDimension",
        "target_tracking_scaling_policy_configuration": target_tracking,
    }, "aws_appautoscaling_policy", "aws_appautoscaling_policy")


def log_group_requests(a: dict) -> tuple[dict, dict]:
    create = take(a, {
        "name": "logGroupName",
        "kms_key_id": "kmsKeyId",
        "retention_in_days": lambda v: {},
        "tags": lambda t: {"tags": dict(t)} if t else {},
    }, "aws_cloudwatch_log_group", "aws_cloudwatch_log_group")
    return create, {"logGroupName": a["name"], "retentionInDays": a["retention_in_days"]}


def policy_document(a: dict) -> dict:
    """What data.aws_iam_policy_document renders."""
    statements = []
    for s in a.get("statement", []):
        unknown = set(s) - {"sid", "effect", "actions", "resources", "principals", "condition"}
        if unknown:
            raise CheckError(f"policy statement keys not mapped: {sorted(unknown)}")
        st: dict[str, Any] = {"Effect": s.get("effect", "Allow")}
        if "sid" in s:
            st["Sid"] = s["sid"]
        st["Action"] = s["actions"]
        if "resources" in s:
            st["Resource"] = s["resources"]
        if "principals" in s:
            st["Principal"] = {p["type"]: p["identifiers"] for p in s["principals"]}
        if "condition" in s:
            cond: dict[str, dict] = {}
            for c in s["condition"]:
                cond.setdefault(c["test"], {})[c["variable"]] = c["values"]
            st["Condition"] = cond
        statements.append(st)
    return {"Version": "2012-10-17", "Statement": statements}


def role_request(a: dict) -> dict:
    return take(a, {
        "name": "RoleName",
        "description": "Description",
        "assume_role_policy": "AssumeRolePolicyDocument",
        "permissions_boundary": "PermissionsBoundary",
        "tags": iam_tags,
    }, "aws_iam_role", "aws_iam_role")


def role_policy_request(a: dict) -> dict:
    return take(a, {"name": "PolicyName", "role": "RoleName", "policy": "PolicyDocument"}, "aws_iam_role_policy", "aws_iam_role_policy")


def security_group_request(a: dict) -> dict:
    return take(a, {
        "name_prefix": lambda v: {"GroupName": v + "20260101000000000000000001"},
        "name": "GroupName",
        "description": "Description",
        "vpc_id": "VpcId",
        "tags": lambda t: {"TagSpecifications": [{"ResourceType": "security-group", "Tags": [{"Key": k, "Value": v} for k, v in sorted(t.items())]}]} if t else {},
    }, "aws_security_group", "aws_security_group")


def sg_rule_request(a: dict, direction: str) -> dict:
    perm: dict[str, Any] = {}
    mapped = take(a, {
        "security_group_id": "GroupId",
        "description": lambda v: {"_description": v},
        "ip_protocol": lambda v: {"_proto": v},
        "from_port": lambda v: {"_from": v},
        "to_port": lambda v: {"_to": v},
        "cidr_ipv4": lambda v: {"_cidr": v},
        "referenced_security_group_id": lambda v: {"_sg": v},
        "tags": lambda t: {},
    }, f"aws_vpc_security_group_{direction}_rule", f"aws_vpc_security_group_{direction}_rule")
    perm = {"IpProtocol": mapped["_proto"], "FromPort": mapped["_from"], "ToPort": mapped["_to"]}
    if "_cidr" in mapped:
        perm["IpRanges"] = [{"CidrIp": mapped["_cidr"], "Description": mapped.get("_description", "")}]
    if "_sg" in mapped:
        perm["UserIdGroupPairs"] = [{"GroupId": mapped["_sg"], "Description": mapped.get("_description", "")}]
    return {"GroupId": mapped["GroupId"], "IpPermissions": [perm]}


# ---- validation against the service models ----------------------------------------

_SESSION = botocore.session.get_session()
_MODELS: dict[str, Any] = {}


def _strict(shape, value, path: str, errors: list[str]) -> None:
    """What botocore's ParamValidator leaves out: enum values and maxima (it
    checks minima only). Runs after it, so the types are already right."""
    meta = shape.metadata
    if shape.type_name == "structure" and isinstance(value, dict):
        for k, v in value.items():
            if k in shape.members:
                _strict(shape.members[k], v, f"{path}.{k}", errors)
    elif shape.type_name == "list" and isinstance(value, list):
        if "max" in meta and len(value) > meta["max"]:
            errors.append(f"{path}: {len(value)} items, at most {meta['max']}")
        for i, v in enumerate(value):
            _strict(shape.member, v, f"{path}[{i}]", errors)
    elif shape.type_name == "map" and isinstance(value, dict):
        for k, v in value.items():
            _strict(shape.value, v, f"{path}[{k!r}]", errors)
    elif shape.type_name == "string" and isinstance(value, str):
        enum = getattr(shape, "enum", None)
        if enum and value not in enum:
            errors.append(f"{path}: {value!r} is not one of {sorted(enum)}")
        if "max" in meta and len(value) > meta["max"]:
            errors.append(f"{path}: longer than {meta['max']}")
    elif shape.type_name in ("integer", "long", "double", "float") and isinstance(value, (int, float)):
        if "max" in meta and value > meta["max"]:
            errors.append(f"{path}: {value} is above the maximum {meta['max']}")
        if "min" in meta and value < meta["min"]:
            errors.append(f"{path}: {value} is below the minimum {meta['min']}")


def validate(service: str, operation: str, params: dict) -> None:
    if service not in _MODELS:
        _MODELS[service] = _SESSION.get_service_model(service)
    shape = _MODELS[service].operation_model(operation).input_shape
    report = ParamValidator().validate(params, shape)
    errors = []
    if report.has_errors():
        errors.append(report.generate_report())
    else:
        _strict(shape, params, operation, errors)
    if errors:
        raise CheckError(f"{service} {operation} rejects the request:\n  " + "\n  ".join(errors)
                         + "\n  request: " + json.dumps(params, sort_keys=True)[:4000])


# ---- the service's own rules -----------------------------------------------------------

FARGATE_MEMORY = {  # AWS Fargate task sizes (Linux), MiB per CPU units
    256: [512, 1024, 2048],
    512: list(range(1024, 4097, 1024)),
    1024: list(range(2048, 8193, 1024)),
    2048: list(range(4096, 16385, 1024)),
    4096: list(range(8192, 30721, 1024)),
    8192: list(range(16384, 61441, 4096)),
    16384: list(range(32768, 122881, 8192)),
}
PLAIN_ENV = {"PORT", "HOST", "LOG_FORMAT", "LOG_LEVEL", "MODEL_URI", "MODEL_PATH", "MODEL_SHA256", "MLFLOW_TRACKING_URI", "ORT_DYLIB_PATH"}
SECRET_ENV = {"API_KEYS", "MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_PASSWORD", "CHURN_API_KEYS", "CHURN_ADMIN_API_KEYS", "CHURN_MLFLOW_TRACKING_TOKEN", "CHURN_MLFLOW_TRACKING_PASSWORD"}


def require(cond: bool, msg: str) -> None:
    if not cond:
        raise CheckError(msg)


def alb_path_matches(pattern: str, path: str) -> bool:
    # ALB path patterns: * any characters, ? one; case-sensitive.
    return re.fullmatch("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), path) is not None


def service_rules(vals: dict, req: dict, config_keys: set[str]) -> list[str]:
    """Checks that do not depend on the API's shape but on what the service
    needs; returns the lines to print."""
    td, svc = req["RegisterTaskDefinition"], req["CreateService"]
    tg, tga = req["CreateTargetGroup"], req["ModifyTargetGroupAttributes"]
    rule = req["CreateRule"]
    cpu, mem = int(td["cpu"]), int(td["memory"])
    require(td["requiresCompatibilities"] == ["FARGATE"] and td["networkMode"] == "awsvpc", "task: Fargate with awsvpc networking")
    require(mem in FARGATE_MEMORY.get(cpu, []), f"task: Fargate has no {cpu} CPU / {mem} MiB size")
    require(td["executionRoleArn"] != td["taskRoleArn"], "task: execution and task roles must differ")
    require(len(td["containerDefinitions"]) == 1, "task: one container")
    c = td["containerDefinitions"][0]
    volumes = {v["name"] for v in td.get("volumes", [])}
    require(c.get("user") == "65532:65532", "container: runs as 65532:65532")
    require(c.get("readonlyRootFilesystem") is True, "container: read-only root file system")
    require(c.get("privileged") in (None, False), "container: not privileged")
    require(any(m["containerPath"] == "/tmp" and m["sourceVolume"] in volumes for m in c.get("mountPoints", [])), "container: /tmp is mounted from a task volume")
    require(all(m["sourceVolume"] in volumes for m in c.get("mountPoints", [])), "container: every mount names a task volume")
    require(c.get("healthCheck", {}).get("command") == ["CMD", "/app/churn-serve", "healthcheck"], "container: health check is the binary's own healthcheck (no shell in the image)")
    hc = c["healthCheck"]
    require(hc["timeout"] < hc["interval"], "container: health check timeout below its interval")
    env = {e["name"]: e["value"] for e in c.get("environment", [])}
    secrets = {s["name"]: s["valueFrom"] for s in c.get("secrets", [])}
    require(len(env) == len(c.get("environment", [])) and len(secrets) == len(c.get("secrets", [])), "container: duplicate variable names")
    require(not (set(env) & set(secrets)), f"container: names both plain and secret: {set(env) & set(secrets)}")
    require(not (set(env) & SECRET_ENV), f"container: secrets in plain environment: {sorted(set(env) & SECRET_ENV)}")
    require("API_KEYS" in secrets, "container: API_KEYS comes from a secret")
    unknown = sorted(k for k in env if k not in PLAIN_ENV and not (k.startswith("CHURN_") and k[6:].lower() in config_keys))
    require(not unknown, f"container: settings the service does not read (not in configs/default.toml): {unknown}")
    port = int(env.get("PORT", "8000"))
    pm = c["portMappings"]
    require(len(pm) == 1 and pm[0]["containerPort"] == port and pm[0].get("hostPort", port) == port, "container: one port mapping, the service's PORT (awsvpc: hostPort = containerPort)")
    workers = int(env["CHURN_WORKERS"])
    require(workers >= 1 and (vals["workers"] is not None or workers == max(1, cpu // 1024)), f"container: CHURN_WORKERS {workers} does not follow the task's {cpu / 1024:g} vCPU")
    budget = 64 + int(env.get("CHURN_MAX_CONNECTIONS", 1024)) * 32 / 1024 + 2 * int(env.get("CHURN_MAX_INFLIGHT_BODY_BYTES", 16777216)) / 2**20
    require(c.get("memoryReservation", 0) <= c["memory"] <= mem and c["memory"] >= budget, f"container: memoryReservation <= memory ({c['memory']}) <= task memory, and memory >= the {budget:g} MiB budget")
    drain, grace = int(env["CHURN_SHUTDOWN_DRAIN_SECS"]), int(env["CHURN_SHUTDOWN_GRACE_SECS"])
    require(drain + grace < c["stopTimeout"] <= 120, f"container: stopTimeout {c['stopTimeout']} must exceed drain + grace ({drain + grace}) and be <= 120")
    log = c["logConfiguration"]
    require(log["logDriver"] == "awslogs" and log["options"]["awslogs-group"] == req["CreateLogGroup"]["logGroupName"], "container: awslogs into the module's log group")

    require(tg["TargetType"] == "ip" and tg["Port"] == port, "target group: ip targets on the container port")
    require(tg["HealthCheckPath"] == "/health/ready" and tg["Matcher"]["HttpCode"] == "200", "target group: health check GET /health/ready, 200")
    require(tg["HealthCheckTimeoutSeconds"] < tg["HealthCheckIntervalSeconds"], "target group: health check timeout below its interval")
    attrs = {x["Key"]: x["Value"] for x in tga["Attributes"]}
    delay = int(attrs["deregistration_delay.timeout_seconds"])
    timeout_s = -(-int(env["CHURN_REQUEST_TIMEOUT_MS"]) // 1000)
    require(drain <= delay <= 60 and delay >= timeout_s, f"target group: deregistration delay {delay} s must cover the drain ({drain} s) and the request timeout ({timeout_s} s), and stay short")

    paths = [v for cnd in rule["Conditions"] if cnd["Field"] == "path-pattern" for v in cnd["PathPatternConfig"]["Values"]]
    require(sorted(paths) == ["/api/*", "/v2/*"], f"listener rule: forwards /api/* and /v2/* only, got {paths}")
    for private in ("/metrics", "/docs", "/openapi.json", "/health", "/health/ready", "/admin/model/reload"):
        require(not any(alb_path_matches(p, private) for p in paths), f"listener rule: {private} must not be forwarded")
    require(rule["Actions"] == [{"Type": "forward", "TargetGroupArn": rule["Actions"][0]["TargetGroupArn"]}], "listener rule: one forward action")

    dc = svc["deploymentConfiguration"]
    require(dc["minimumHealthyPercent"] == 100 and dc["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}, "service: minimum healthy 100 %, circuit breaker with rollback")
    require(svc["networkConfiguration"]["awsvpcConfiguration"]["assignPublicIp"] == "DISABLED", "service: no public IP")
    lb = svc["loadBalancers"]
    require(len(lb) == 1 and lb[0]["containerName"] == c["name"] and lb[0]["containerPort"] == port, "service: load balancer points at the container's port")

    st = req["RegisterScalableTarget"]
    require(st["ResourceId"] == f"service/{svc['cluster'].split('/')[-1]}/{svc['serviceName']}", f"scaling: resource id {st['ResourceId']} names the service")
    metrics = {}
    for p in req["PutScalingPolicy"]:
        require((p["ResourceId"], p["ScalableDimension"]) == (st["ResourceId"], st["ScalableDimension"]), "scaling: policy on the scalable target")
        spec = p["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"]
        metrics[spec["PredefinedMetricType"]] = spec
    require(set(metrics) == {"ECSServiceAverageCPUUtilization", "ALBRequestCountPerTarget"}, f"scaling: CPU and request count policies, got {sorted(metrics)}")
    label = metrics["ALBRequestCountPerTarget"]["ResourceLabel"]
    require(re.fullmatch(r"app/[^/]+/[0-9a-f]+/targetgroup/[^/]+/[0-9a-f]+", label) is not None, f"scaling: resource label {label!r} is app/<alb>/<id>/targetgroup/<tg>/<id>")

    # Least privilege of the execution role.
    doc = json.loads(req["PutRolePolicy"]["PolicyDocument"])
    given = {a: None for a in secrets.values()}
    sm = {":".join(a.split(":")[:7]) for a in given if a.split(":")[2] == "secretsmanager"}
    ssm = {a for a in given if a.split(":")[2] == "ssm"}
    seen = set()
    for s in doc["Statement"]:
        require(s["Effect"] == "Allow" and all("*" not in a for a in s["Action"]), f"execution role: no wildcard actions ({s['Action']})")
        for action in s["Action"]:
            res = set(s["Resource"])
            seen.add(action)
            if action in ("logs:CreateLogStream", "logs:PutLogEvents"):
                require(res == {f"{req['_log_group_arn']}:log-stream:*"}, f"execution role: {action} only on its log group, got {res}")
            elif action == "secretsmanager:GetSecretValue":
                require(res == sm, f"execution role: GetSecretValue on exactly the given secrets {sm}, got {res}")
            elif action == "ssm:GetParameters":
                require(res == ssm, f"execution role: GetParameters on exactly the given parameters {ssm}, got {res}")
            elif action == "ecr:GetAuthorizationToken":
                require(res == {"*"}, "ecr:GetAuthorizationToken takes only *")
            elif action.startswith("ecr:"):
                require(len(res) == 1 and all(r.startswith("arn:") and ":repository/" in r for r in res), f"execution role: {action} on the image's repository only")
            elif action == "kms:Decrypt":
                require("*" not in res and "Condition" in s, "execution role: kms:Decrypt on given keys, via Secrets Manager or SSM")
            else:
                raise CheckError(f"execution role: unexpected action {action}")
    require({"logs:PutLogEvents"} <= seen, "execution role: may write its logs")
    require(bool(sm) == ("secretsmanager:GetSecretValue" in seen) and bool(ssm) == ("ssm:GetParameters" in seen), "execution role: reads the secrets it is given")
    require(req["_task_role_policies"] == 0, "task role: no policies")

    ingress = req["AuthorizeSecurityGroupIngress"]
    require(len(ingress) == 1, "security group: one ingress rule")
    perm = ingress[0]["IpPermissions"][0]
    require(perm.get("UserIdGroupPairs", [{}])[0].get("GroupId") == vals["alb_security_group_id"] and "IpRanges" not in perm and perm["FromPort"] == perm["ToPort"] == port,
            "security group: ingress only from the ALB's group, on the container port")
    for e in req["AuthorizeSecurityGroupEgress"]:
        p = e["IpPermissions"][0]
        require(p["IpProtocol"] != "-1" and p["FromPort"] == p["ToPort"], "security group: egress to single TCP ports only")

    return [
        f"task {cpu} CPU / {mem} MiB (Fargate size ok), container memory {c['memory']} MiB >= budget {budget:g} MiB, reservation {c.get('memoryReservation')} MiB, CHURN_WORKERS={workers}",
        f"shutdown: deregistration delay {delay} s, then SIGTERM: drain {drain} s + grace {grace} s < stopTimeout {c['stopTimeout']} s",
        f"health: container {' '.join(hc['command'][1:])} every {hc['interval']} s; ALB {tg['HealthCheckPath']} every {tg['HealthCheckIntervalSeconds']} s, {tg['HealthyThresholdCount']} up / {tg['UnhealthyThresholdCount']} down",
        f"environment: {len(env)} plain ({', '.join(sorted(env))}), {len(secrets)} secrets ({', '.join(sorted(secrets))}), all read by the service",
        f"listener rule: {', '.join(sorted(paths))}; /metrics, /docs, /health*, /admin not forwarded",
        f"execution role: {', '.join(sorted(seen))}, each on its own resources only; task role: no policies",
    ]


# ---- building all requests --------------------------------------------------------------

# Nested blocks that the AWS provider models as lists (so [0] indexes them
# in a plan); set-typed ones (volume, load_balancer, condition) are left out.
LIST_BLOCKS = {"health_check", "deployment_circuit_breaker", "network_configuration", "runtime_platform",
               "target_tracking_scaling_policy_configuration", "predefined_metric_specification"}


def _hcl_literal(v: Any) -> str:
    return json.dumps(h.tf_str(v)).replace("${", "$${").replace("%{", "%%{")


def terraform_test(values: dict, suffixes: dict, placeholders: set[str]) -> tuple[str, int]:
    """A `terraform test` file (mock AWS provider, plan only) asserting that
    Terraform computes the same arguments as hcl_eval: the container
    definitions whole, and every scalar argument known at plan time."""
    asserts: list[tuple[str, str]] = [(
        'jsondecode(aws_ecs_task_definition.this.container_definitions) == jsondecode(file("expected-container-definitions.json"))',
        "container definitions",
    )]

    def known(v) -> bool:
        return not any(p in h.tf_str(v) for p in placeholders)

    def walk(address: str, args: dict) -> None:
        for name, v in sorted(args.items()):
            if name in ("container_definitions", "tags"):
                continue
            if isinstance(v, (str, int, float, bool)) and known(v):
                asserts.append((f"tostring({address}.{name}) == {_hcl_literal(v)}", f"{address}.{name}"))
            elif isinstance(v, list) and name in LIST_BLOCKS and len(v) == 1 and isinstance(v[0], dict):
                walk(f"{address}.{name}[0]", v[0])

    for key, instances in values.items():
        if key[0] == "data":
            continue
        for suffix, inst in zip(suffixes[key], instances):
            walk(f"{key[0]}.{key[1]}{suffix}", inst)
    lines = [
        "# Generated by scripts/deploy/terraform/check_module.py: Terraform's own",
        "# evaluation of the module must agree with check_module.py's.",
        'mock_provider "aws" {',
        '  mock_data "aws_iam_policy_document" {',
        "    defaults = { json = " + json.dumps(json.dumps({"Version": "2012-10-17", "Statement": []})) + " }",
        "  }",
        "}",
        "",
        'run "same_as_evaluator" {',
        "  command = plan",
    ]
    for cond, what in asserts:
        lines += ["  assert {", f"    condition     = {cond}", f"    error_message = {json.dumps('differs from check_module.py: ' + what)}", "  }"]
    lines.append("}")
    return "\n".join(lines) + "\n", len(asserts)


def build_requests(mod: h.Module, vals: dict) -> tuple[dict, list[str]]:
    ev = h.Evaluator(mod, vals)
    # As Terraform: invalid variables stop everything before resources are
    # looked at.
    failures = h.validation_failures(mod, ev) or h.precondition_failures(mod, ev)
    if failures:
        raise CheckError("rejected by the module's own checks:\n  " + "\n  ".join(failures))
    # Everything evaluates: locals, all arguments of all instances, outputs.
    for name in mod.locals:
        ev.local(name)
    values: dict[tuple[str, str], list[dict]] = {}
    suffixes: dict[tuple[str, str], list[str]] = {}  # instance keys, as in addresses
    for key, block in list(mod.resources.items()) + [(("data",) + k, b) for k, b in mod.data.items()]:
        scopes = ev.instances(block)
        values[key] = [ev.block_value(block, scope) for scope in scopes]
        suffixes[key] = [f"[{json.dumps(sc['each']['key'])}]" if "each" in sc else f"[{sc['count']['index']}]" if "count" in sc else ""
                         for sc in scopes]
    for name, block in mod.outputs.items():
        ev.block_value(block)
    req: dict[str, Any] = {"_values": values, "_suffixes": suffixes, "_placeholders": ev.placeholders}

    def single(rtype: str) -> tuple[str, dict]:
        found = [(k[1], v[0]) for k, v in values.items() if k[0] == rtype]
        require(len(found) == 1, f"one {rtype} expected, found {len(found)}")
        return found[0]

    def all_of(rtype: str) -> list[dict]:
        return [inst for k, v in values.items() if k[0] == rtype for inst in v]

    docs = {k[2]: json.dumps(policy_document(v[0])) for k, v in values.items() if k[:2] == ("data", "aws_iam_policy_document")}

    def resolve_doc(text: str) -> str:
        m = re.fullmatch(r"<data\.aws_iam_policy_document\.([^.]+)\.json>", text)
        return docs[m.group(1)] if m else text

    _, td = single("aws_ecs_task_definition")
    req["RegisterTaskDefinition"] = task_definition_request(td)
    _, svc = single("aws_ecs_service")
    req["CreateService"] = service_request(svc)
    _, tg = single("aws_lb_target_group")
    req["CreateTargetGroup"], req["ModifyTargetGroupAttributes"] = target_group_requests(tg)
    _, rule = single("aws_lb_listener_rule")
    req["CreateRule"] = listener_rule_request(rule)
    _, st = single("aws_appautoscaling_target")
    req["RegisterScalableTarget"] = scalable_target_request(st)
    req["PutScalingPolicy"] = [scaling_policy_request(p) for p in all_of("aws_appautoscaling_policy")]
    lg_name, lg = single("aws_cloudwatch_log_group")
    req["CreateLogGroup"], req["PutRetentionPolicy"] = log_group_requests(lg)
    req["_log_group_arn"] = ev._resource_attr("resource", mod.resources[("aws_cloudwatch_log_group", lg_name)], "arn")
    roles = {k[1]: v[0] for k, v in values.items() if k[0] == "aws_iam_role"}
    req["CreateRole"] = []
    for r in roles.values():
        r = dict(r, assume_role_policy=resolve_doc(r["assume_role_policy"]))
        req["CreateRole"].append(role_request(r))
    policies = all_of("aws_iam_role_policy")
    require(len(policies) == 1, "one inline policy (the execution role's)")
    pol = dict(policies[0], policy=resolve_doc(policies[0]["policy"]))
    req["PutRolePolicy"] = role_policy_request(pol)
    task_role_name = roles["task"]["name"]
    req["_task_role_policies"] = sum(1 for p in policies if p["role"] == task_role_name) + sum(
        1 for k in values if k[0] in ("aws_iam_role_policy_attachment", "aws_iam_policy_attachment"))
    _, sg = single("aws_security_group")
    req["CreateSecurityGroup"] = security_group_request(sg)
    req["AuthorizeSecurityGroupIngress"] = [sg_rule_request(r, "ingress") for r in all_of("aws_vpc_security_group_ingress_rule")]
    req["AuthorizeSecurityGroupEgress"] = [sg_rule_request(r, "egress") for r in all_of("aws_vpc_security_group_egress_rule")]

    calls = [
        ("ecs", "RegisterTaskDefinition", req["RegisterTaskDefinition"]),
        ("ecs", "CreateService", req["CreateService"]),
        ("elbv2", "CreateTargetGroup", req["CreateTargetGroup"]),
        ("elbv2", "ModifyTargetGroupAttributes", req["ModifyTargetGroupAttributes"]),
        ("elbv2", "CreateRule", req["CreateRule"]),
        ("application-autoscaling", "RegisterScalableTarget", req["RegisterScalableTarget"]),
        *[("application-autoscaling", "PutScalingPolicy", p) for p in req["PutScalingPolicy"]],
        ("logs", "CreateLogGroup", req["CreateLogGroup"]),
        ("logs", "PutRetentionPolicy", req["PutRetentionPolicy"]),
        *[("iam", "CreateRole", r) for r in req["CreateRole"]],
        ("iam", "PutRolePolicy", req["PutRolePolicy"]),
        ("ec2", "CreateSecurityGroup", req["CreateSecurityGroup"]),
        *[("ec2", "AuthorizeSecurityGroupIngress", r) for r in req["AuthorizeSecurityGroupIngress"]],
        *[("ec2", "AuthorizeSecurityGroupEgress", r) for r in req["AuthorizeSecurityGroupEgress"]],
    ]
    lines = []
    for service, op, params in calls:
        validate(service, op, params)
        what = {
            "RegisterTaskDefinition": lambda p: f"family {p['family']}, {len(p['containerDefinitions'])} container, {len(p['containerDefinitions'][0])} container keys",
            "CreateService": lambda p: f"{p['serviceName']}, {p['launchType']}",
            "PutScalingPolicy": lambda p: p["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"]["PredefinedMetricType"],
            "CreateRole": lambda p: p["RoleName"],
        }.get(op, lambda p: "")(params)
        lines.append(f"{service} {op}{': ' + what if what else ''}")
    return req, lines


# ---- driver ---------------------------------------------------------------------------------

POSITIVE = [
    # (what, overrides, expected CHURN_WORKERS)
    ("image by digest from another registry, no MLflow token", {
        "image": "ghcr.io/example/churn-serve@sha256:" + "0" * 64,
        "mlflow_tracking_token_secret_arn": None, "model_uri": "", "mlflow_tracking_uri": "",
        "environment": {}, "host_headers": [],
    }, 1),
    ("2 vCPU / 4 GiB, ARM64, a secret JSON key, extra secret", {
        "cpu": 2048, "memory": 4096, "cpu_architecture": "ARM64",
        "api_keys_secret_arn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:churn-AbCdEf:keys::",
        "additional_secrets": {"CHURN_ADMIN_API_KEYS": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:admin-AbCdEf"},
        "secrets_kms_key_arns": ["arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"],
    }, 2),
]

NEGATIVE = [
    ("image tagged latest", {"image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn-serve:latest"}),
    ("image without tag", {"image": "churn-serve"}),
    ("CPU that Fargate does not offer", {"cpu": 300}),
    ("memory that Fargate does not pair with 512 CPU", {"memory": 512}),
    ("container limit below the memory budget", {"memory_limit_mib": 100}),
    ("budget raised above the limit", {"environment": {"CHURN_MAX_CONNECTIONS": "4096"}}),
    ("drain + grace beyond Fargate's stop timeout", {"shutdown_drain_secs": 30, "shutdown_grace_secs": 90}),
    ("a secret in plain environment", {"environment": {"API_KEYS": "k1"}}),
    ("overriding a managed setting", {"environment": {"CHURN_WORKERS": "4"}}),
    ("one subnet", {"subnet_ids": ["subnet-0a1b2c3d4e5f60718"]}),
    ("a non-listener ARN", {"alb_listener_arn": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/public/50dc6c495c0c9188"}),
    ("min above max capacity", {"min_capacity": 5, "max_capacity": 3}),
    ("port below 1024", {"container_port": 80}),
]


def readme_module_block(readme: Path, mod: h.Module) -> str:
    text = readme.read_text(encoding="utf-8")
    blocks = re.findall(r"```hcl\n(.*?)```", text, re.S)
    calls = [b for b in blocks if re.search(r'^module\s+"', b, re.M)]
    require(bool(calls), f"{readme}: no ```hcl block with a module call")
    parsed = hcl2.loads(calls[0])
    args = {k for k in next(iter(parsed["module"][0].values())) if not k.startswith("__")} - {"source", "version", "providers", "depends_on"}
    unknown = args - set(mod.variables)
    required = {n for n, b in mod.variables.items() if "default" not in b.attrs}
    require(not unknown, f"{readme}: the module block sets undeclared variables {sorted(unknown)}")
    require(required <= args, f"{readme}: the module block misses required variables {sorted(required - args)}")
    undocumented = [n for n in list(mod.variables) + list(mod.outputs) if not re.search(rf"^\| `{re.escape(n)}` \|", text, re.M)]
    require(not undocumented, f"{readme}: no table row for {undocumented}")
    return (f"README: module block sets {len(args)} declared variables incl. all {len(required)} required; "
            f"tables list all {len(mod.variables)} variables and {len(mod.outputs)} outputs")


CONTAINER_DEFINITIONS = re.compile(r"container_definitions\s*=\s*jsonencode\(\[local\.container_definition\]\)")


def render_for_checkov(root: Path, out: Path, container_definitions: list) -> None:
    """A copy of the module whose container_definitions argument holds the
    evaluated list as a literal: checkov cannot evaluate the for expressions
    in local.container_definition, and its container checks then pass or
    skip without having looked at a container. Everything else is verbatim."""
    out.mkdir(parents=True, exist_ok=True)
    literal = json.dumps(container_definitions, indent=2, sort_keys=True).replace("${", "$${").replace("%{", "%%{")
    hits = 0
    for f in root.glob("*.tf"):
        text = f.read_text(encoding="utf-8")
        text, n = CONTAINER_DEFINITIONS.subn(lambda m: f"container_definitions = jsonencode({literal})", text)
        hits += n
        (out / f.name).write_text(text, encoding="utf-8")
    require(hits == 1, f"expected one `container_definitions = jsonencode([local.container_definition])` in {root}, found {hits}")


def main(module_dir: str, tfvars: str, config_toml: str, out_dir: str | None = None) -> int:
    root = Path(module_dir)
    # 1. parse
    counts = {"resource": 0, "data": 0, "variable": 0, "output": 0, "locals": 0}
    files = sorted(root.glob("*.tf"))
    undocumented = []
    for f in files:
        try:
            parsed = hcl2.load(f.open(encoding="utf-8"))
        except Exception as e:  # noqa: BLE001 - any parse error fails the check
            print(f"  {f}: parse error: {e}")
            return 1
        for kind in counts:
            for entry in parsed.get(kind, []):
                if kind in ("resource", "data"):
                    counts[kind] += sum(len(v) for v in entry.values() if isinstance(v, dict))
                elif kind == "locals":
                    counts[kind] += len([k for k in entry if not k.startswith("__")])
                else:
                    counts[kind] += 1
    mod = h.Module.load(root)
    for name, b in list(mod.variables.items()) + list(mod.outputs.items()):
        kind = "variable" if name in mod.variables and b is mod.variables[name] else "output"
        if not (b.attrs.get("description") and h.Evaluator(mod, {}).eval(b.attrs["description"], {}).strip()):
            undocumented.append(f"{kind} {name}: no description")
        if kind == "variable" and "type" not in b.attrs:
            undocumented.append(f"variable {name}: no type")
    print(f"  parsed {len(files)} files: {counts['resource']} resources, {counts['data']} data sources, "
          f"{counts['variable']} variables, {counts['output']} outputs, {counts['locals']} locals")
    if undocumented:
        print("  " + "\n  ".join(undocumented))
        return 1
    print("  every variable has a type and a description, every output a description")

    config_keys = set(tomllib.loads(Path(config_toml).read_text(encoding="utf-8")))
    given = h.load_tfvars(tfvars)
    try:
        # 2 + 3. evaluate with the example values; requests; rules
        vals = h.variable_values(mod, given)
        req, lines = build_requests(mod, vals)
        print(f"  {Path(tfvars).name}: {len(given)} values; validations and preconditions pass; "
              f"{len(mod.locals)} locals, all arguments and {len(mod.outputs)} outputs evaluate")
        print(f"  botocore {botocore.__version__}: {len(lines)} requests valid (shape, types, enums, ranges):")
        for line in lines:
            print(f"    {line}")
        for line in service_rules(vals, req, config_keys):
            print(f"  ok: {line}")
        if out_dir:
            cds = req["RegisterTaskDefinition"]["containerDefinitions"]
            render_for_checkov(root, Path(out_dir) / "rendered", cds)
            test, n = terraform_test(req["_values"], req["_suffixes"], req["_placeholders"])
            (Path(out_dir) / "tftest").mkdir(parents=True, exist_ok=True)
            (Path(out_dir) / "tftest" / "same_as_evaluator.tftest.hcl").write_text(test, encoding="utf-8")
            (Path(out_dir) / "tftest" / "expected-container-definitions.json").write_text(json.dumps(cds), encoding="utf-8")
            print(f"  wrote the copy checkov scans and a terraform test with {n} assertions (stages 3, 4)")
        # 4. variants
        for what, overrides, workers in POSITIVE:
            v = h.variable_values(mod, {**given, **overrides})
            r, _ = build_requests(mod, v)
            service_rules(v, r, config_keys)
            env = {e["name"]: e["value"] for e in r["RegisterTaskDefinition"]["containerDefinitions"][0]["environment"]}
            require(env["CHURN_WORKERS"] == str(workers), f"{what}: CHURN_WORKERS {env['CHURN_WORKERS']}, expected {workers}")
            ecr = [s for s in json.loads(r["PutRolePolicy"]["PolicyDocument"])["Statement"] if any(a.startswith("ecr:") for a in s["Action"])]
            require(bool(ecr) == (".dkr.ecr." in v["image"]), f"{what}: ECR pull rights only for an ECR image")
            print(f"  accepted: {what} (CHURN_WORKERS={workers}, {len(ecr)} ECR statements)")
        for what, overrides in NEGATIVE:
            try:
                v = h.variable_values(mod, {**given, **overrides})
                build_requests(mod, v)
            except (CheckError, h.EvalError) as e:
                lines = str(e).splitlines()
                first = (lines[1] if len(lines) > 1 else lines[0]).strip()
                print(f"  rejected: {what}: {first[:150]}")
                continue
            print(f"  NOT rejected: {what}")
            return 1
        # 5. README
        readme = root / "README.md"
        print(f"  {readme_module_block(readme, mod)}")
    except (CheckError, h.EvalError) as e:
        print(f"  {e}")
        return 1
    except h.Unsupported as e:
        print(f"  the evaluator does not support this construct (extend scripts/deploy/terraform/hcl_eval.py): {e}")
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))

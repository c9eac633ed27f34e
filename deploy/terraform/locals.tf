locals {
  # Region, account and partition come from the listener ARN rather than
  # data sources: the listener rule and target group must live there anyway,
  # and every value below stays computable without AWS credentials, which is
  # what lets scripts/deploy/check_terraform.sh evaluate it offline.
  listener_arn_parts = split(":", var.alb_listener_arn)
  partition          = local.listener_arn_parts[1]
  region             = local.listener_arn_parts[3]
  account_id         = local.listener_arn_parts[4]
  # app/<name>/<id>: half of the ALBRequestCountPerTarget resource label.
  alb_arn_suffix = regex("^listener/(app/[^/]+/[0-9a-f]+)/[0-9a-f]+$", local.listener_arn_parts[5])[0]

  # An ECR image needs pull rights on its repository; other registries need
  # none from this account.
  ecr_image = try(regex("^([0-9]{12})\\.dkr\\.ecr\\.([a-z0-9-]+)\\.amazonaws\\.com(?:\\.cn)?/([^:@]+)[:@]", var.image), null)
  ecr_repository_arn = local.ecr_image == null ? null : format(
    "arn:%s:ecr:%s:%s:repository/%s", local.partition, local.ecr_image[1], local.ecr_image[0], local.ecr_image[2]
  )

  # ---- sizing --------------------------------------------------------------
  # Inference is CPU-bound: one worker per whole vCPU of the task (0.5 vCPU
  # still gets one). More workers than vCPUs only add ONNX sessions (memory)
  # that wait for the same CPU.
  workers = var.workers != null ? var.workers : max(1, floor(var.cpu / 1024))

  # Fargate's CPU/memory table (Linux), MiB per CPU size.
  fargate_memory_mib = {
    "256"   = [512, 1024, 2048]
    "512"   = range(1024, 4097, 1024)
    "1024"  = range(2048, 8193, 1024)
    "2048"  = range(4096, 16385, 1024)
    "4096"  = range(8192, 30721, 1024)
    "8192"  = range(16384, 61441, 4096)
    "16384" = range(32768, 122881, 8192)
  }

  # The service's memory budget (README, "Memory budget"):
  # 64 MiB + max_connections x 32 KiB + 2 x max_inflight_body_bytes.
  max_connections         = tonumber(lookup(var.environment, "CHURN_MAX_CONNECTIONS", "1024"))
  max_inflight_body_bytes = tonumber(lookup(var.environment, "CHURN_MAX_INFLIGHT_BODY_BYTES", "16777216"))
  memory_budget_mib       = ceil(64 + local.max_connections * 32 / 1024 + 2 * local.max_inflight_body_bytes / 1048576)

  # ---- shutdown --------------------------------------------------------------
  # ECS deregisters a task from the target group and waits for the
  # deregistration delay to end *before* it sends SIGTERM: the delay plays the
  # part of the Kubernetes preStop sleep plus drain. New requests stop at
  # once; the ones already in flight through the ALB need up to the request
  # timeout; the drain seconds on top are the margin for the ALB nodes to
  # agree, as the drain is on Kubernetes. 5 + 10 = 15 s by default (the ALB
  # default of 300 s would make every rolling deploy crawl).
  deregistration_delay_secs = var.shutdown_drain_secs + ceil(var.request_timeout_ms / 1000)
  # After SIGTERM the service drains, then gives requests the grace period:
  # SIGKILL must come later, with 10 s to spare as on Kubernetes (45 s there,
  # which also covers its 5 s preStop). Fargate allows at most 120 s.
  stop_timeout_secs = var.shutdown_drain_secs + var.shutdown_grace_secs + 10

  # ---- settings --------------------------------------------------------------
  # As k8s/base/config.env; empty optional ones are left out so the image's
  # defaults apply.
  managed_environment = {
    for k, v in {
      PORT                      = tostring(var.container_port)
      LOG_FORMAT                = "json"
      LOG_LEVEL                 = var.log_level
      CHURN_WORKERS             = tostring(local.workers)
      CHURN_INTRA_OP_THREADS    = "1"
      CHURN_REQUEST_TIMEOUT_MS  = tostring(var.request_timeout_ms)
      CHURN_SHUTDOWN_DRAIN_SECS = tostring(var.shutdown_drain_secs)
      CHURN_SHUTDOWN_GRACE_SECS = tostring(var.shutdown_grace_secs)
      MODEL_URI                 = var.model_uri
      MLFLOW_TRACKING_URI       = var.mlflow_tracking_uri
    } : k => v if v != ""
  }
  environment = merge(var.environment, local.managed_environment)

  secret_arns = merge(var.additional_secrets, {
    for k, v in {
      API_KEYS              = var.api_keys_secret_arn
      MLFLOW_TRACKING_TOKEN = var.mlflow_tracking_token_secret_arn
    } : k => v if v != null
  })
  # IAM wants the secret itself: drop a ":json-key:version-stage:version-id"
  # selector from a Secrets Manager reference.
  secretsmanager_arns = distinct([
    for arn in values(local.secret_arns) : join(":", slice(split(":", arn), 0, 7)) if split(":", arn)[2] == "secretsmanager"
  ])
  ssm_parameter_arns = distinct([
    for arn in values(local.secret_arns) : arn if split(":", arn)[2] == "ssm"
  ])

  container_name = "churn-serve"

  # The container definition, keyed exactly as the ECS RegisterTaskDefinition
  # API: check_terraform.sh evaluates this from the parsed HCL and validates
  # it against botocore's model of that API.
  container_definition = {
    name      = local.container_name
    image     = var.image
    essential = true
    # The image's own entry point and command: /app/churn-serve serve.
    user                   = "65532:65532"
    readonlyRootFilesystem = true
    privileged             = false
    linuxParameters = {
      capabilities = { drop = ["ALL"] }
    }
    memory            = var.memory_limit_mib
    memoryReservation = var.memory_reservation_mib
    portMappings = [{
      name          = "http"
      containerPort = var.container_port
      hostPort      = var.container_port
      protocol      = "tcp"
      appProtocol   = "http"
    }]
    environment = [for k in sort(keys(local.environment)) : { name = k, value = local.environment[k] }]
    secrets     = [for k in sort(keys(local.secret_arns)) : { name = k, valueFrom = local.secret_arns[k] }]
    # The only writable path, as the emptyDir on Kubernetes.
    mountPoints = [{ sourceVolume = "tmp", containerPath = "/tmp", readOnly = false }]
    volumesFrom = []
    # The image has no shell: the binary probes its own /health (200 while
    # serving, 503 once draining). As the Dockerfile's HEALTHCHECK, but with
    # a start period long enough for a model download from MLflow.
    healthCheck = {
      command     = ["CMD", "/app/churn-serve", "healthcheck"]
      interval    = 10
      timeout     = 3
      retries     = 3
      startPeriod = 30
    }
    stopTimeout = local.stop_timeout_secs
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        "awslogs-group"         = aws_cloudwatch_log_group.this.name
        "awslogs-region"        = local.region
        "awslogs-stream-prefix" = "ecs"
        # A CloudWatch hiccup must not block the service's stdout (and so its
        # requests); lines beyond the buffer are dropped instead.
        "mode"            = "non-blocking"
        "max-buffer-size" = "25m"
      }
    }
  }

  # Every resource names the service it belongs to, plus the caller's tags.
  tags = merge({ Service = var.name }, var.tags)
}

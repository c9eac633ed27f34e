# ---- identity and image ------------------------------------------------------

variable "name" {
  description = "Name of the service; also the task definition family, target group, log group (/ecs/<name>) and IAM roles (<name>-execution, <name>-task)."
  type        = string
  default     = "churn-serve"

  validation {
    # Target group names are limited to 32 characters, and "-requests" is
    # appended for the scaling policy names.
    condition     = can(regex("^[a-z][a-z0-9-]{0,30}[a-z0-9]$", var.name))
    error_message = "The name must be 2-32 characters of a-z, 0-9 and '-', starting with a letter and not ending with '-'."
  }
}

variable "image" {
  description = "Container image with a release tag or a digest, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn-serve:0.1.0. An ECR image gets pull permission on its repository automatically."
  type        = string

  validation {
    # A tag or digest makes every task of a deployment run the same build,
    # and lets the circuit breaker roll back to something that still exists.
    condition     = can(regex("^[^:@]+(:[0-9]+)?(/[^:@]+)*(:[A-Za-z0-9_][A-Za-z0-9._-]{0,127}|@sha256:[0-9a-f]{64})$", var.image))
    error_message = "The image must name a tag (repository:tag) or a digest (repository@sha256:...)."
  }

  validation {
    condition     = !endswith(var.image, ":latest")
    error_message = "The image must not use the tag \"latest\": pin a release tag or a digest."
  }
}

variable "cpu_architecture" {
  description = "CPU architecture of the tasks: X86_64 or ARM64 (the image must be built for it; the Dockerfile builds both)."
  type        = string
  default     = "X86_64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.cpu_architecture)
    error_message = "The cpu_architecture must be X86_64 or ARM64."
  }
}

# ---- where it runs (created elsewhere) ---------------------------------------

variable "cluster_arn" {
  description = "ARN of the existing ECS cluster to run the service in (the module does not create one: clusters are usually shared and own settings such as Container Insights)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]{12}:cluster/[A-Za-z0-9_-]+$", var.cluster_arn))
    error_message = "The cluster_arn must be an ECS cluster ARN (arn:aws:ecs:<region>:<account>:cluster/<name>)."
  }
}

variable "vpc_id" {
  description = "ID of the VPC of the ALB and the subnets."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-f]+$", var.vpc_id))
    error_message = "The vpc_id must look like vpc-0123456789abcdef0."
  }
}

variable "subnet_ids" {
  description = "Private subnets for the tasks, in at least two availability zones. Tasks get no public IP: the subnets need a NAT gateway or VPC endpoints (ECR api and dkr, S3, CloudWatch Logs, Secrets Manager or SSM) to pull the image and read secrets."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2 && alltrue([for s in var.subnet_ids : can(regex("^subnet-[0-9a-f]+$", s))])
    error_message = "Give at least two subnet IDs (subnet-...), in different availability zones, so one zone's outage does not take the service down."
  }
}

variable "alb_listener_arn" {
  description = "ARN of the existing ALB listener (HTTPS in production) that gets the rule forwarding /api/* and /v2/* to the service. The region, account and partition of every resource here are taken from it."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:[0-9]{12}:listener/app/[^/]+/[0-9a-f]+/[0-9a-f]+$", var.alb_listener_arn))
    error_message = "The alb_listener_arn must be an Application Load Balancer listener ARN (arn:aws:elasticloadbalancing:<region>:<account>:listener/app/<name>/<id>/<id>)."
  }
}

variable "alb_security_group_id" {
  description = "Security group of the ALB: the only source allowed to reach the container port. Its egress rules must allow the container port towards the VPC (the module does not change that group)."
  type        = string

  validation {
    condition     = can(regex("^sg-[0-9a-f]+$", var.alb_security_group_id))
    error_message = "The alb_security_group_id must look like sg-0123456789abcdef0."
  }
}

variable "listener_rule_priority" {
  description = "Priority of the listener rule; unique on the listener (lower wins)."
  type        = number
  default     = 100

  validation {
    condition     = var.listener_rule_priority >= 1 && var.listener_rule_priority <= 50000 && floor(var.listener_rule_priority) == var.listener_rule_priority
    error_message = "The listener_rule_priority must be an integer from 1 to 50000."
  }
}

variable "host_headers" {
  description = "Host names the listener rule also matches on (empty: any host). Use when the listener serves several applications."
  type        = list(string)
  default     = []

  validation {
    # A rule allows 5 condition values in all; the two path patterns use 2.
    condition     = length(var.host_headers) <= 3
    error_message = "At most 3 host headers: a listener rule takes 5 condition values, and the path patterns use 2."
  }
}

variable "egress_cidr_blocks" {
  description = "IPv4 ranges the tasks may open HTTPS connections to: ECR, CloudWatch Logs, Secrets Manager or SSM, and the MLflow server. Narrow it to the VPC's range when all of these are reached through VPC endpoints."
  type        = list(string)
  default     = ["0.0.0.0/0"]

  validation {
    condition     = length(var.egress_cidr_blocks) >= 1 && alltrue([for c in var.egress_cidr_blocks : can(cidrhost(c, 0))])
    error_message = "The egress_cidr_blocks must be a non-empty list of IPv4 CIDR blocks."
  }
}

variable "egress_ports" {
  description = "TCP ports the tasks may connect to in egress_cidr_blocks; 443 covers the AWS APIs and an HTTPS MLflow server. Add the MLflow port if it is served over plain HTTP inside the VPC."
  type        = list(number)
  default     = [443]

  validation {
    condition     = length(var.egress_ports) >= 1 && alltrue([for p in var.egress_ports : p >= 1 && p <= 65535])
    error_message = "The egress_ports must be a non-empty list of TCP ports (1-65535)."
  }
}

# ---- sizing ---------------------------------------------------------------------

variable "cpu" {
  description = "Task CPU units (1024 = 1 vCPU). With the default 512 the task gets the 0.5 vCPU the Kubernetes pod requests; inference workers follow it (one per whole vCPU, at least one)."
  type        = number
  default     = 512

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096, 8192, 16384], var.cpu)
    error_message = "The cpu must be a Fargate task size: 256, 512, 1024, 2048, 4096, 8192 or 16384."
  }
}

variable "memory" {
  description = "Task memory in MiB; Fargate allows only some values per cpu (512 CPU: 1024-4096). The service needs far less (memory_limit_mib): the default is the smallest size Fargate offers with 0.5 vCPU."
  type        = number
  default     = 1024

  validation {
    condition     = var.memory >= 512 && var.memory <= 122880 && floor(var.memory) == var.memory
    error_message = "The memory must be a whole number of MiB between 512 and 122880 (the cpu/memory pair is checked against Fargate's table as well)."
  }
}

variable "memory_limit_mib" {
  description = "Hard memory limit of the container in MiB (it is OOM-killed above it), as the Kubernetes limit (192Mi). Must not be below the service's memory budget (128 MiB with the defaults; `churn-serve memory-budget` prints it)."
  type        = number
  default     = 192

  validation {
    condition     = var.memory_limit_mib >= 6 && floor(var.memory_limit_mib) == var.memory_limit_mib
    error_message = "The memory_limit_mib must be a whole number of MiB."
  }
}

variable "memory_reservation_mib" {
  description = "Soft memory reservation of the container in MiB, as the Kubernetes request (96Mi: peak RSS under load plus headroom)."
  type        = number
  default     = 96

  validation {
    condition     = var.memory_reservation_mib >= 6 && floor(var.memory_reservation_mib) == var.memory_reservation_mib
    error_message = "The memory_reservation_mib must be a whole number of MiB."
  }
}

variable "workers" {
  description = "Inference workers (CHURN_WORKERS). null: one per whole vCPU of the task, at least one. Never 0 (one per visible core): Fargate may show the task more cores than its CPU share."
  type        = number
  default     = null

  validation {
    condition     = var.workers == null ? true : (var.workers >= 1 && var.workers <= 64 && floor(var.workers) == var.workers)
    error_message = "The workers must be null or an integer from 1 to 64."
  }
}

# ---- service settings -----------------------------------------------------------

variable "container_port" {
  description = "Port the service listens on (PORT); the target group and the security group use it."
  type        = number
  default     = 8000

  validation {
    # The service runs as an unprivileged user: no port below 1024.
    condition     = var.container_port >= 1024 && var.container_port <= 65535
    error_message = "The container_port must be between 1024 and 65535 (the container does not run as root)."
  }
}

variable "log_level" {
  description = "LOG_LEVEL: a tracing filter such as info or info,churn_serve::access=warn."
  type        = string
  default     = "info"
}

variable "shutdown_drain_secs" {
  description = "CHURN_SHUTDOWN_DRAIN_SECS: after SIGTERM, /health* answer 503 this long while requests are still served. The ALB deregistration delay and the stop timeout are derived from it."
  type        = number
  default     = 5

  validation {
    condition     = var.shutdown_drain_secs >= 0 && var.shutdown_drain_secs <= 60 && floor(var.shutdown_drain_secs) == var.shutdown_drain_secs
    error_message = "The shutdown_drain_secs must be an integer from 0 to 60."
  }
}

variable "shutdown_grace_secs" {
  description = "CHURN_SHUTDOWN_GRACE_SECS: after the drain the listener closes and requests in flight get up to this long."
  type        = number
  default     = 25

  validation {
    condition     = var.shutdown_grace_secs >= 1 && var.shutdown_grace_secs <= 90 && floor(var.shutdown_grace_secs) == var.shutdown_grace_secs
    error_message = "The shutdown_grace_secs must be an integer from 1 to 90."
  }
}

variable "request_timeout_ms" {
  description = "CHURN_REQUEST_TIMEOUT_MS: the longest a request runs (504 after it). Bounds how long the ALB must keep a deregistering task for requests in flight."
  type        = number
  default     = 10000

  validation {
    condition     = var.request_timeout_ms >= 100 && var.request_timeout_ms <= 60000
    error_message = "The request_timeout_ms must be between 100 and 60000 (the ALB's default idle timeout is 60 s)."
  }
}

variable "model_uri" {
  description = "MODEL_URI: where the model comes from, e.g. models:/churn@champion (with mlflow_tracking_uri). Empty: the model baked into the image."
  type        = string
  default     = ""
}

variable "mlflow_tracking_uri" {
  description = "MLFLOW_TRACKING_URI for models:/ URIs, e.g. https://mlflow.internal.example.com. Its token goes in mlflow_tracking_token_secret_arn, never here."
  type        = string
  default     = ""

  validation {
    condition     = var.mlflow_tracking_uri == "" || can(regex("^https?://[^@]+$", var.mlflow_tracking_uri))
    error_message = "The mlflow_tracking_uri must be empty or an http(s) URL without credentials in it."
  }
}

variable "environment" {
  description = "More plain settings as CHURN_<KEY> variables (see configs/default.toml), e.g. { CHURN_THRESHOLD = \"0.4\" }. Names that look secret are refused: use additional_secrets. The module's own settings (PORT, CHURN_WORKERS, the shutdown timings, ...) come from their variables and cannot be set here."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.environment) : can(regex("^[A-Z_][A-Z0-9_]*$", k))])
    error_message = "Environment variable names must be upper case letters, digits and underscores."
  }

  validation {
    condition     = alltrue([for k in keys(var.environment) : !can(regex("(?i)(KEY|TOKEN|PASSWORD|SECRET|CREDENTIAL)", k))])
    error_message = "Secrets do not belong in plain environment variables (they show in the task definition): pass them in additional_secrets."
  }
}

# ---- secrets ----------------------------------------------------------------------

variable "api_keys_secret_arn" {
  description = "ARN of the Secrets Manager secret or SSM SecureString parameter holding API_KEYS (comma-separated keys). Use the full secret ARN (with its 6-character suffix); a JSON key can follow as <arn>:<key>::."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:(secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:|ssm:[a-z0-9-]+:[0-9]{12}:parameter/)", var.api_keys_secret_arn))
    error_message = "The api_keys_secret_arn must be a Secrets Manager secret ARN or an SSM parameter ARN."
  }
}

variable "mlflow_tracking_token_secret_arn" {
  description = "ARN of the secret or SSM parameter holding MLFLOW_TRACKING_TOKEN; null when the MLflow server needs no token."
  type        = string
  default     = null

  validation {
    condition     = var.mlflow_tracking_token_secret_arn == null ? true : can(regex("^arn:aws[a-z-]*:(secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:|ssm:[a-z0-9-]+:[0-9]{12}:parameter/)", var.mlflow_tracking_token_secret_arn))
    error_message = "The mlflow_tracking_token_secret_arn must be null, a Secrets Manager secret ARN or an SSM parameter ARN."
  }
}

variable "additional_secrets" {
  description = "More secret settings: environment variable name => secret or SSM parameter ARN, e.g. { CHURN_ADMIN_API_KEYS = \"arn:aws:secretsmanager:...\" }."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k, v in var.additional_secrets : can(regex("^[A-Z_][A-Z0-9_]*$", k)) && can(regex("^arn:aws[a-z-]*:(secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:|ssm:[a-z0-9-]+:[0-9]{12}:parameter/)", v))])
    error_message = "The additional_secrets must map upper-case variable names to Secrets Manager secret or SSM parameter ARNs."
  }
}

variable "secrets_kms_key_arns" {
  description = "Customer managed KMS keys that encrypt the secrets or parameters (empty when they use the AWS managed keys); the execution role may decrypt with them only through Secrets Manager or SSM."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for k in var.secrets_kms_key_arns : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/", k))])
    error_message = "The secrets_kms_key_arns must be KMS key ARNs."
  }
}

# ---- logs --------------------------------------------------------------------------

variable "log_retention_days" {
  description = "Days CloudWatch keeps the service's logs. Request lines carry no request bodies, but do carry routes and client timings: keep only as long as operations need."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "The log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653)."
  }
}

variable "log_kms_key_arn" {
  description = "KMS key to encrypt the log group with; null: CloudWatch Logs' own encryption. The key policy must allow the logs.<region>.amazonaws.com principal."
  type        = string
  default     = null

  validation {
    condition     = var.log_kms_key_arn == null ? true : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/", var.log_kms_key_arn))
    error_message = "The log_kms_key_arn must be null or a KMS key ARN."
  }
}

# ---- scaling and deployment ---------------------------------------------------------

variable "min_capacity" {
  description = "Fewest tasks (also the initial desired count); 2 keeps one task per zone serving through a zone outage or a task replacement."
  type        = number
  default     = 2

  validation {
    condition     = var.min_capacity >= 1 && floor(var.min_capacity) == var.min_capacity
    error_message = "The min_capacity must be a positive integer."
  }
}

variable "max_capacity" {
  description = "Most tasks the autoscaler may run."
  type        = number
  default     = 10

  validation {
    condition     = var.max_capacity >= 1 && var.max_capacity <= 1000 && floor(var.max_capacity) == var.max_capacity
    error_message = "The max_capacity must be an integer from 1 to 1000."
  }
}

variable "cpu_target_percent" {
  description = "Average task CPU utilization the CPU policy keeps; 70 as the Kubernetes HPA."
  type        = number
  default     = 70

  validation {
    condition     = var.cpu_target_percent >= 10 && var.cpu_target_percent <= 90
    error_message = "The cpu_target_percent must be between 10 and 90."
  }
}

variable "requests_per_task_per_minute" {
  description = "ALBRequestCountPerTarget the request policy keeps (requests per task per minute). The default is about 60 % of what a 0.5 vCPU task serves at 70 % CPU with single predictions (benches/results.md: 29-43 us of CPU per request), so it scales out a little before the CPU policy for small requests while CPU leads for batches. Scale it with cpu."
  type        = number
  default     = 300000

  validation {
    condition     = var.requests_per_task_per_minute >= 100
    error_message = "The requests_per_task_per_minute must be at least 100."
  }
}

variable "scale_out_cooldown_secs" {
  description = "Seconds after a scale-out before the next one."
  type        = number
  default     = 60
}

variable "scale_in_cooldown_secs" {
  description = "Seconds after a scale-in before the next one; 300 as the HPA's scale-down window, so a short dip does not remove tasks."
  type        = number
  default     = 300
}

variable "health_check_grace_period_secs" {
  description = "Seconds after a task starts during which ECS ignores failing ALB health checks; covers a model download from MLflow before the listener opens."
  type        = number
  default     = 60

  validation {
    condition     = var.health_check_grace_period_secs >= 0 && var.health_check_grace_period_secs <= 2147483647
    error_message = "The health_check_grace_period_secs must not be negative."
  }
}

# ---- misc --------------------------------------------------------------------------

variable "permissions_boundary_arn" {
  description = "Permissions boundary for the two IAM roles, where the account requires one; null: none."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for every resource, and propagated from the service to its tasks."
  type        = map(string)
  default     = {}
}

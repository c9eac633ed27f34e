resource "aws_ecs_task_definition" "this" {
  family                   = var.name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  # Fargate sizes the task as a whole; see variables "cpu" and "memory".
  cpu                = tostring(var.cpu)
  memory             = tostring(var.memory)
  execution_role_arn = aws_iam_role.execution.arn
  task_role_arn      = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  # Task-local scratch space for /tmp (Fargate ephemeral storage), the
  # counterpart of the emptyDir on Kubernetes; the root file system is
  # read-only.
  volume {
    name = "tmp"
  }

  container_definitions = jsonencode([local.container_definition])

  # Keep superseded revisions registered: the deployment circuit breaker and
  # a manual `aws ecs update-service --task-definition <family>:<n>` roll
  # back to them.
  skip_destroy = true

  tags = local.tags

  lifecycle {
    precondition {
      condition     = contains(local.fargate_memory_mib[tostring(var.cpu)], var.memory)
      error_message = "Fargate has no task size with this cpu and memory; with cpu = 512 the memory must be 1024, 2048, 3072 or 4096 (see the AWS Fargate task size table)."
    }
    precondition {
      condition     = var.memory_limit_mib >= local.memory_budget_mib
      error_message = "memory_limit_mib is below the service's memory budget (64 MiB + max_connections x 32 KiB + 2 x max_inflight_body_bytes): the container would be OOM-killed under load."
    }
    precondition {
      condition     = var.memory_reservation_mib <= var.memory_limit_mib && var.memory_limit_mib <= var.memory
      error_message = "memory_reservation_mib <= memory_limit_mib <= memory must hold."
    }
    precondition {
      condition     = local.stop_timeout_secs <= 120
      error_message = "shutdown_drain_secs + shutdown_grace_secs + 10 exceeds Fargate's 120 s stop timeout: shorten the drain or the grace period."
    }
    precondition {
      condition     = length(setintersection(keys(var.environment), keys(local.managed_environment))) == 0
      error_message = "The environment variable sets a setting the module manages (PORT, LOG_FORMAT, LOG_LEVEL, CHURN_WORKERS, CHURN_INTRA_OP_THREADS, CHURN_REQUEST_TIMEOUT_MS, CHURN_SHUTDOWN_*, MODEL_URI, MLFLOW_TRACKING_URI): use the module's variable for it."
    }
    precondition {
      condition     = length(setintersection(keys(var.environment), keys(local.secret_arns))) == 0
      error_message = "A name is both in environment and a secret."
    }
  }
}

resource "aws_ecs_service" "this" {
  name             = var.name
  cluster          = var.cluster_arn
  task_definition  = aws_ecs_task_definition.this.arn
  launch_type      = "FARGATE"
  platform_version = "LATEST"
  # Initial size only: the autoscaler owns the count afterwards (ignored
  # below, or every apply would reset it).
  desired_count = var.min_capacity

  # Never below the current capacity during a deployment: new tasks start
  # beside the old ones, which go only once the new ones are healthy.
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200

  # A release whose tasks keep failing their health checks stops, and the
  # service goes back to the last revision that reached steady state.
  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  # ECS ignores failing ALB health checks this long after a task starts.
  health_check_grace_period_seconds = var.health_check_grace_period_secs

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = [aws_security_group.service.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.this.arn
    container_name   = local.container_name
    container_port   = var.container_port
  }

  # No shell in the image, so ECS Exec would have nothing to run.
  enable_execute_command  = false
  enable_ecs_managed_tags = true
  propagate_tags          = "SERVICE"
  tags                    = local.tags

  # The target group must be attached to the ALB (by the rule) before a
  # service can register tasks in it, and the tasks need the execution
  # role's policy to start.
  depends_on = [aws_lb_listener_rule.this, aws_iam_role_policy.execution]

  lifecycle {
    ignore_changes = [desired_count]
  }
}

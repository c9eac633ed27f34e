output "service_name" {
  description = "Name of the ECS service (for aws ecs update-service / describe-services)."
  value       = aws_ecs_service.this.name
}

output "service_id" {
  description = "ARN of the ECS service."
  value       = aws_ecs_service.this.id
}

output "task_definition_arn" {
  description = "ARN of the task definition revision this apply registered."
  value       = aws_ecs_task_definition.this.arn
}

output "task_definition_family" {
  description = "Task definition family; earlier revisions stay registered for rollbacks."
  value       = aws_ecs_task_definition.this.family
}

output "container_definitions" {
  description = "The rendered container definitions (JSON), for review; secrets appear as ARNs only."
  value       = aws_ecs_task_definition.this.container_definitions
}

output "target_group_arn" {
  description = "ARN of the ALB target group the tasks register in."
  value       = aws_lb_target_group.this.arn
}

output "listener_rule_arn" {
  description = "ARN of the listener rule that forwards /api/* and /v2/*."
  value       = aws_lb_listener_rule.this.arn
}

output "security_group_id" {
  description = "Security group of the tasks; allow it as a source where the service must connect (e.g. an internal MLflow server)."
  value       = aws_security_group.service.id
}

output "execution_role_arn" {
  description = "ARN of the task execution role (image pull, secrets, logs)."
  value       = aws_iam_role.execution.arn
}

output "task_role_arn" {
  description = "ARN of the task role the containers run with (no permissions attached)."
  value       = aws_iam_role.task.arn
}

output "task_role_name" {
  description = "Name of the task role, to attach policies should the service ever need AWS APIs."
  value       = aws_iam_role.task.name
}

output "log_group_name" {
  description = "CloudWatch log group of the containers (JSON lines; streams ecs/churn-serve/<task id>)."
  value       = aws_cloudwatch_log_group.this.name
}

output "workers" {
  description = "CHURN_WORKERS the tasks run with."
  value       = local.workers
}

output "shutdown_timings" {
  description = "Seconds of each shutdown phase: ALB deregistration delay, drain after SIGTERM, grace for requests in flight, and the stop timeout before SIGKILL."
  value = {
    deregistration_delay = local.deregistration_delay_secs
    drain                = var.shutdown_drain_secs
    grace                = var.shutdown_grace_secs
    stop_timeout         = local.stop_timeout_secs
  }
}

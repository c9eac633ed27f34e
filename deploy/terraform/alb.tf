resource "aws_lb_target_group" "this" {
  name        = var.name
  vpc_id      = var.vpc_id
  target_type = "ip" # awsvpc: each task has its own address
  protocol    = "HTTP"
  port        = var.container_port
  # TLS ends at the ALB; the hop to the task stays inside the VPC and the
  # task's security group admits only the ALB.
  protocol_version = "HTTP1"

  # Requests differ in cost (one row or a batch of 1000): send the next one
  # to the task with the fewest outstanding, not round robin.
  load_balancing_algorithm_type = "least_outstanding_requests"

  # See locals.tf: ECS waits for this before SIGTERM, so it replaces the
  # Kubernetes preStop sleep; derived from the drain and the request timeout.
  deregistration_delay = local.deregistration_delay_secs

  health_check {
    enabled  = true
    protocol = "HTTP"
    port     = "traffic-port"
    # Readiness: answers once the model is loaded and the listener is open,
    # 503 once draining (by then ECS has normally deregistered the task).
    path    = "/health/ready"
    matcher = "200"
    # A new task is in service after 2 x 5 s; a task that stops answering is
    # out after 3 x 5 s, and one slow answer (timeout 4 s) is tolerated.
    interval            = 5
    timeout             = 4
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  tags = local.tags
}

# Only the API is published: /api/* (predict, batch, model) and /v2/* (Open
# Inference Protocol). /metrics, /docs, /openapi.json, the probes and /admin
# get the listener's default action instead, as the Kubernetes Ingress does.
resource "aws_lb_listener_rule" "this" {
  listener_arn = var.alb_listener_arn
  priority     = var.listener_rule_priority

  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this.arn
  }

  condition {
    path_pattern {
      values = ["/api/*", "/v2/*"]
    }
  }

  dynamic "condition" {
    for_each = length(var.host_headers) > 0 ? [var.host_headers] : []
    content {
      host_header {
        values = condition.value
      }
    }
  }

  tags = local.tags
}

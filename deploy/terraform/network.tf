resource "aws_security_group" "service" {
  name_prefix = "${var.name}-"
  description = "${var.name} tasks: HTTP from the ALB only"
  vpc_id      = var.vpc_id
  tags        = merge(local.tags, { Name = var.name })

  # A replacement group must exist before the old one can be let go: the
  # service's tasks hold on to it.
  lifecycle {
    create_before_destroy = true
  }
}

# Only the ALB reaches the container port; /metrics and the probes are
# therefore reachable from the ALB's group alone, and the listener rule does
# not forward them (see alb.tf).
resource "aws_vpc_security_group_ingress_rule" "from_alb" {
  security_group_id            = aws_security_group.service.id
  description                  = "HTTP from the ALB to the container port"
  referenced_security_group_id = var.alb_security_group_id
  ip_protocol                  = "tcp"
  from_port                    = var.container_port
  to_port                      = var.container_port
  tags                         = local.tags
}

# HTTPS out for the image pull, logs, secrets and MLflow; nothing else.
resource "aws_vpc_security_group_egress_rule" "out" {
  for_each = {
    for pair in setproduct(var.egress_cidr_blocks, var.egress_ports) : "${pair[0]}:${pair[1]}" => {
      cidr = pair[0]
      port = pair[1]
    }
  }

  security_group_id = aws_security_group.service.id
  description       = "TCP ${each.value.port} to ${each.value.cidr} (AWS APIs, MLflow)"
  cidr_ipv4         = each.value.cidr
  ip_protocol       = "tcp"
  from_port         = each.value.port
  to_port           = each.value.port
  tags              = local.tags
}

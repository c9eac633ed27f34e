"""Validates an OpenAPI document with openapi-spec-validator.

Usage: python validate_openapi.py OPENAPI_JSON

Lists every error (not only the first), and requires OpenAPI 3.x.
"""

import sys

from jsonschema_path import SchemaPath
from openapi_spec_validator.readers import read_from_filename
from openapi_spec_validator.shortcuts import get_validator_cls


def main():
    spec, _ = read_from_filename(sys.argv[1])
    version = str(spec.get("openapi", ""))
    if not version.startswith("3."):
        raise SystemExit(f"     error: openapi version {version or '(none)'} is not OpenAPI 3.x")
    cls = get_validator_cls(spec)  # 3.0 or 3.1 rules, from the `openapi` field
    errors = list(cls(SchemaPath.from_dict(spec)).iter_errors())
    for error in errors:
        print(f"     error: {type(error).__name__}: {str(error).splitlines()[0]}")
    if errors:
        raise SystemExit(f"     {len(errors)} error(s) ({cls.__name__})")
    print(f"     {cls.__name__}: openapi {version}, {len(spec['paths'])} paths, title {spec['info']['title']!r}")


if __name__ == "__main__":
    main()

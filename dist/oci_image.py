#!/usr/bin/env python3
"""Writes a one-layer OCI image into an OCI image-layout directory, without a container engine.

Two kinds of image:

  oci_image.py wasm --wasm FILE --out DIR --tag TAG
      A Wasm plugin image in the "compat" variant of the Wasm image spec
      (github.com/solo-io/wasm spec/spec-compat.md), as Istio's WasmPlugin and Envoy Gateway's
      EnvoyExtensionPolicy pull it: one `application/vnd.oci.image.layer.v1.tar+gzip` layer that
      holds exactly `plugin.wasm`, and the manifest annotation `module.wasm.image/variant=compat`.

  oci_image.py binary --binary FILE --out DIR --tag TAG --port PORT [--arg ARG ...]
      A runnable linux/amd64 image of one static executable on an empty base (`FROM scratch`):
      the binary at `/NAME`, `Entrypoint` ["/NAME", ARG ...], `ExposedPorts` PORT/tcp, `User`
      65534 (nobody). Write an ARG that starts with a dash as --arg=--flag.

The output is reproducible: tar entries have mtime 0, uid/gid 0 and fixed modes, the gzip header
has mtime 0 and no file name, and the JSON documents are written in a fixed key order, so two
builds of the same input give the same digests. Prints the manifest digest (sha256:...).

The layout (OCI image-layout 1.0.0): DIR/oci-layout, DIR/index.json (one manifest, tagged with
`org.opencontainers.image.ref.name`), DIR/blobs/sha256/<digest> for the manifest, the config and
the layer. `skopeo copy oci:DIR:TAG docker://REGISTRY/NAME:TAG` pushes it.
"""

import argparse
import gzip
import hashlib
import io
import json
import os
import shutil
import sys
import tarfile

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
COMPAT_ANNOTATION = ("module.wasm.image/variant", "compat")
NOBODY = "65534"


def layer_tar(name, data, mode):
    """An uncompressed tar holding one regular file, with every variable field fixed."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mode = mode
        info.mtime = 0
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def gzipped(data):
    """gzip with mtime 0 and no file name in the header (a fixed compression level)."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as gz:
        gz.write(data)
    return buf.getvalue()


def canonical_json(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Layout:
    """An OCI image-layout directory being written."""

    def __init__(self, path):
        self.path = path
        if os.path.exists(path):
            shutil.rmtree(path)
        os.makedirs(os.path.join(path, "blobs", "sha256"))

    def blob(self, media_type, data):
        """Stores `data` under its digest; returns its descriptor."""
        digest = sha256(data)
        with open(os.path.join(self.path, "blobs", "sha256", digest.split(":")[1]), "wb") as f:
            f.write(data)
        return {"mediaType": media_type, "digest": digest, "size": len(data)}

    def finish(self, manifest_descriptor, tag):
        manifest_descriptor["annotations"] = {"org.opencontainers.image.ref.name": tag}
        index = {"schemaVersion": 2, "mediaType": INDEX, "manifests": [manifest_descriptor]}
        with open(os.path.join(self.path, "index.json"), "wb") as f:
            f.write(canonical_json(index))
        with open(os.path.join(self.path, "oci-layout"), "wb") as f:
            f.write(canonical_json({"imageLayoutVersion": "1.0.0"}))


def image(out, tag, file_name, data, mode, platform, container_config, annotations):
    """Writes a one-layer image; returns the manifest digest."""
    tar = layer_tar(file_name, data, mode)
    layout = Layout(out)
    layer = layout.blob(LAYER, gzipped(tar))
    config = {
        "architecture": platform[0],
        "os": platform[1],
        "config": container_config,
        "rootfs": {"type": "layers", "diff_ids": [sha256(tar)]},
    }
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "config": layout.blob(CONFIG, canonical_json(config)),
        "layers": [layer],
        "annotations": annotations,
    }
    descriptor = layout.blob(MANIFEST, canonical_json(manifest))
    layout.finish(descriptor, tag)
    return descriptor["digest"]


def wasm_image(args):
    with open(args.wasm, "rb") as f:
        wasm = f.read()
    if not wasm.startswith(b"\0asm"):
        sys.exit(f"oci_image.py: {args.wasm} is not a WebAssembly module")
    annotations = dict([COMPAT_ANNOTATION])
    annotations.update(oci_annotations(args))
    # The spec leaves the platform open; the module is wasm32-wasip1, so say so (GOARCH/GOOS
    # spelling, as the OCI Wasm artifact guidance uses). The pullers read the layer only.
    return image(args.out, args.tag, "plugin.wasm", wasm, 0o644, ("wasm", "wasip1"), {}, annotations)


def binary_image(args):
    with open(args.binary, "rb") as f:
        binary = f.read()
    if not binary.startswith(b"\x7fELF"):
        sys.exit(f"oci_image.py: {args.binary} is not an ELF executable")
    name = args.name or os.path.basename(args.binary)
    container_config = {
        "User": NOBODY,
        "ExposedPorts": {f"{args.port}/tcp": {}},
        "Entrypoint": ["/" + name] + args.arg,
    }
    return image(
        args.out, args.tag, name, binary, 0o755, ("amd64", "linux"), container_config,
        oci_annotations(args),
    )


def oci_annotations(args):
    notes = {"org.opencontainers.image.version": args.tag}
    if args.title:
        notes["org.opencontainers.image.title"] = args.title
    if args.licenses:
        notes["org.opencontainers.image.licenses"] = args.licenses
    return notes


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    kinds = parser.add_subparsers(dest="kind", required=True)
    wasm = kinds.add_parser("wasm", help="a Wasm plugin image (compat variant)")
    wasm.add_argument("--wasm", required=True, help="the module, stored as plugin.wasm")
    binary = kinds.add_parser("binary", help="a static executable on an empty base")
    binary.add_argument("--binary", required=True, help="a statically linked executable")
    binary.add_argument("--name", help="its name in the image (default: the file's name)")
    binary.add_argument("--port", required=True, type=int, help="the TCP port it serves")
    binary.add_argument("--arg", action="append", default=[], help="an Entrypoint argument")
    for kind in (wasm, binary):
        kind.add_argument("--out", required=True, help="the OCI layout directory (replaced)")
        kind.add_argument("--tag", required=True, help="the tag (index.json ref.name)")
        kind.add_argument("--title", help="org.opencontainers.image.title")
        kind.add_argument("--licenses", help="org.opencontainers.image.licenses (SPDX)")
    args = parser.parse_args()
    print(wasm_image(args) if args.kind == "wasm" else binary_image(args))


if __name__ == "__main__":
    main()

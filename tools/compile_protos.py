"""Compile the wire contract ``protos/cogment/api/*.proto`` into the ``cogment.api`` package.

For every ``X.proto`` it writes ``X_pb2.py``, ``X_pb2_grpc.py`` and their mypy-protobuf
stubs ``X_pb2.pyi`` / ``X_pb2_grpc.pyi`` into ``cogment/api/``. The protos are compiled
with ``-I protos``, so each file is registered as ``cogment/api/X.proto`` and the
generated modules import each other as ``from cogment.api import common_pb2``.

Usage::

    python tools/compile_protos.py            # regenerate cogment/api (commit the result)
    python tools/compile_protos.py --check    # exit 1 listing the files that are stale

The output is committed so that a plain ``pip install`` needs no build hook.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
PROTO_ROOT = REPO_ROOT / "protos"
PACKAGE_SUBDIR = Path("cogment") / "api"
OUTPUT_DIR = REPO_ROOT / PACKAGE_SUBDIR
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", "_pb2_grpc.pyi")


class CompileError(RuntimeError):
    """protoc failed, or a required plugin could not be found."""


def proto_files(proto_root: Path = PROTO_ROOT) -> list[Path]:
    """The ``.proto`` files of the contract, relative to ``proto_root`` and sorted."""
    return sorted(p.relative_to(proto_root) for p in (proto_root / PACKAGE_SUBDIR).glob("*.proto"))


def expected_outputs(proto_root: Path = PROTO_ROOT) -> list[str]:
    """File names (inside ``cogment/api``) that compiling ``proto_root`` must produce."""
    return sorted(
        proto.stem + suffix for proto in proto_files(proto_root) for suffix in GENERATED_SUFFIXES
    )


def _plugin(name: str) -> Path:
    """Locate a protoc plugin installed with mypy-protobuf (next to the interpreter, then PATH)."""
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return beside
    found = shutil.which(name)
    if found is None:
        raise CompileError(f"protoc plugin {name!r} not found: install mypy-protobuf")
    return Path(found)


def _well_known_include() -> Path:
    """Directory holding google/protobuf/*.proto as shipped with grpcio-tools."""
    import grpc_tools

    return Path(grpc_tools.__file__).resolve().parent / "_proto"


def _run_protoc(arguments: Sequence[str], proto_root: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "grpc_tools.protoc",
        f"--proto_path={proto_root}",
        f"--proto_path={_well_known_include()}",
        *arguments,
    ]
    result = subprocess.run(
        command, cwd=proto_root, capture_output=True, text=True, env=dict(os.environ)
    )
    if result.returncode != 0:
        raise CompileError(
            f"protoc failed (exit {result.returncode}):\n{result.stdout}{result.stderr}".rstrip()
        )


def descriptor_set(proto_root: Path = PROTO_ROOT) -> bytes:
    """Serialized ``FileDescriptorSet`` of the contract's protos (without imports nor comments).

    Raises:
        CompileError: when protoc reports an error.
    """
    with tempfile.TemporaryDirectory(prefix="cogment-protos-") as tmp:
        out = Path(tmp) / "descriptors.pb"
        _run_protoc(
            [f"--descriptor_set_out={out}", *(str(p) for p in proto_files(proto_root))], proto_root
        )
        return out.read_bytes()


def compile_into(out_root: Path, proto_root: Path = PROTO_ROOT) -> Path:
    """Compile every proto of ``proto_root`` into ``out_root/cogment/api`` and return that dir.

    Raises:
        CompileError: when protoc reports an error (its output is included).
    """
    protos = proto_files(proto_root)
    if not protos:
        raise CompileError(f"no .proto file found under {proto_root / PACKAGE_SUBDIR}")
    (out_root / PACKAGE_SUBDIR).mkdir(parents=True, exist_ok=True)
    _run_protoc(
        [
            f"--plugin=protoc-gen-mypy={_plugin('protoc-gen-mypy')}",
            f"--plugin=protoc-gen-mypy_grpc={_plugin('protoc-gen-mypy_grpc')}",
            f"--python_out={out_root}",
            f"--grpc_python_out={out_root}",
            f"--mypy_out={out_root}",
            f"--mypy_grpc_out={out_root}",
            *(str(p) for p in protos),
        ],
        proto_root,
    )
    return out_root / PACKAGE_SUBDIR


def generated_files(directory: Path) -> list[str]:
    """Names of the generated files present in ``directory`` (a ``cogment/api`` dir)."""
    return sorted(
        p.name for p in directory.iterdir() if p.is_file() and p.name.endswith(GENERATED_SUFFIXES)
    )


def stale_files(committed: Path, fresh: Path) -> list[str]:
    """Generated files that differ between ``committed`` and ``fresh``, or exist in only one."""
    names = set(generated_files(committed)) | set(generated_files(fresh))
    differing = []
    for name in sorted(names):
        a, b = committed / name, fresh / name
        if not (a.is_file() and b.is_file() and filecmp.cmp(a, b, shallow=False)):
            differing.append(name)
    return differing


def regenerate(output_dir: Path = OUTPUT_DIR, proto_root: Path = PROTO_ROOT) -> list[str]:
    """Recompile into ``output_dir``, removing generated files whose proto is gone.

    Returns the names of the files that changed, were added or were removed.
    """
    with tempfile.TemporaryDirectory(prefix="cogment-protos-") as tmp:
        fresh = compile_into(Path(tmp), proto_root)
        changed = stale_files(output_dir, fresh)
        for name in changed:
            source, target = fresh / name, output_dir / name
            if source.is_file():
                shutil.copyfile(source, target)
            else:
                target.unlink()
    return changed


def check(output_dir: Path = OUTPUT_DIR, proto_root: Path = PROTO_ROOT) -> list[str]:
    """Names of the committed generated files that a fresh compilation would change."""
    with tempfile.TemporaryDirectory(prefix="cogment-protos-") as tmp:
        return stale_files(output_dir, compile_into(Path(tmp), proto_root))


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the process exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="do not write; exit 1 listing the generated files that are out of date",
    )
    args = parser.parse_args(argv)
    try:
        if args.check:
            differing = check()
            if differing:
                print(
                    f"cogment/api is stale against protos/ ({len(differing)} files differ):",
                    file=sys.stderr,
                )
                for name in differing:
                    print(f"  {PACKAGE_SUBDIR / name}", file=sys.stderr)
                print("run: python tools/compile_protos.py", file=sys.stderr)
                return 1
            print("cogment/api is up to date")
            return 0
        changed = regenerate()
    except CompileError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{len(changed)} generated files updated in {PACKAGE_SUBDIR}")
    for name in changed:
        print(f"  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

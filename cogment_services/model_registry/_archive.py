"""On-disk storage of the Model Registry: model metadata and stored ("archived") iterations.

Layout under the archive directory::

    FORMAT                                   "cogment-model-registry-archive 1"
    LOCK                                     flock()ed by the process using the archive
    models/<dir>/model.json                  {"model_id": ..., "user_data": {...}}
    models/<dir>/last_iteration              highest iteration number handed out (text)
    models/<dir>/iterations/<n>.data         the iteration's bytes (n zero-padded to 10 digits)
    models/<dir>/iterations/<n>.json         its info; written last: its presence commits it
    trash/                                   deleted models, emptied at start-up

Every file is written atomically (temporary file, ``fsync``, ``rename``, ``fsync`` of the
directory), so a process killed at any point leaves either the previous state or the new
one. ``<dir>`` is the model id with every character outside ``[A-Za-z0-9_-]`` written as
``%XX`` (UTF-8 bytes), or ``~`` + its SHA-256 for very long ids; the real id is in
``model.json``.

All methods are blocking: the registry calls them from worker threads.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from cogment_services.model_registry._records import IterationRecord, ModelRecord

__all__ = [
    "ArchiveCorruptionError",
    "ArchiveInUseError",
    "ArchiveStore",
    "LoadedModel",
    "PendingData",
]

_log = logging.getLogger("cogment.services.model_registry")

_FORMAT = "cogment-model-registry-archive 1"
_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_MAX_DIR_NAME = 120
_READ_BLOCK = 1 << 20


class ArchiveCorruptionError(Exception):
    """A stored iteration does not match its recorded size or SHA-256 hash."""


class ArchiveInUseError(OSError):
    """Another process holds the archive directory."""


@dataclass
class LoadedModel:
    """A model as found on disk at start-up."""

    record: ModelRecord
    iterations: list[IterationRecord] = field(default_factory=list)
    last_number: int = 0


def model_dir_name(model_id: str) -> str:
    """The directory name of ``model_id`` (reversible encoding, or a hash for long ids)."""
    encoded = "".join(
        char if char in _SAFE else "".join(f"%{byte:02X}" for byte in char.encode("utf-8"))
        for char in model_id
    )
    if len(encoded) > _MAX_DIR_NAME:
        return "~" + hashlib.sha256(model_id.encode("utf-8")).hexdigest()
    return encoded


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomic(path: Path, data: bytes | bytearray | memoryview, durable: bool = True) -> None:
    """Write ``data`` to ``path`` atomically (and durably unless ``durable`` is False)."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "wb") as file:
            file.write(data)
            if durable:
                file.flush()
                os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    if durable:
        _fsync_dir(path.parent)


def _iteration_stem(number: int) -> str:
    return f"{number:010d}"


def _iteration_to_json(record: IterationRecord) -> bytes:
    return json.dumps(
        {
            "model_id": record.model_id,
            "iteration": record.number,
            "timestamp_ns": record.timestamp_ns,
            "hash": record.data_hash,
            "size": record.data_size,
            "user_data": record.user_data,
        },
        sort_keys=True,
    ).encode("utf-8")


def _str_dict(value: Any, what: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(key, str) and isinstance(item, str) for key, item in value.items()
    ):
        raise ValueError(f"{what} is not a string to string map")
    return dict(value)


def _iteration_from_json(raw: bytes) -> IterationRecord:
    value = json.loads(raw)
    record = IterationRecord(
        model_id=str(value["model_id"]),
        number=int(value["iteration"]),
        timestamp_ns=int(value["timestamp_ns"]),
        archived=True,
        data_hash=str(value["hash"]),
        data_size=int(value["size"]),
        user_data=_str_dict(value.get("user_data", {}), "user_data"),
    )
    if record.number < 1 or record.data_size < 0:
        raise ValueError("invalid iteration number or size")
    return record


class PendingData:
    """Data of an iteration being received, written to a temporary file and hashed on the way.

    Blocking methods, called from worker threads; they are serialized, and :meth:`write` after
    :meth:`discard` is ignored (an upload cancelled while a chunk was being written).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: BinaryIO | None = open(path, "wb")  # noqa: SIM115 (closed by finish/discard)
        self._hasher = hashlib.sha256()
        self._lock = threading.Lock()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        """Append ``chunk``."""
        with self._lock:
            if self._file is None:
                return
            self._file.write(chunk)
            self._hasher.update(chunk)
            self.size += len(chunk)

    @property
    def digest(self) -> str:
        """Base64 SHA-256 of what was written so far."""
        with self._lock:
            return base64.b64encode(self._hasher.digest()).decode("ascii")

    def finish(self) -> None:
        """Flush, fsync and close the file (it stays at :attr:`path`)."""
        with self._lock:
            file, self._file = self._file, None
            if file is None:
                raise ArchiveCorruptionError(f"upload [{self.path}] was already closed")
            file.flush()
            os.fsync(file.fileno())
            file.close()

    def discard(self) -> None:
        """Close and delete the file (a no-op once it was committed)."""
        with self._lock:
            file, self._file = self._file, None
            if file is not None:
                file.close()
                with contextlib.suppress(OSError):
                    self.path.unlink()


class ArchiveStore:
    """The archive directory; see the module documentation for the layout."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self._models = self.root / "models"
        self._trash = self.root / "trash"
        self._dirs: dict[str, Path] = {}
        self._lock_fd: int | None = None

    # ------------------------------------------------------------------------- start-up

    def _lock(self) -> None:
        """Take the archive for this process (released on :meth:`close` or process death)."""
        fd = os.open(self.root / "LOCK", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise ArchiveInUseError(
                f"archive directory [{self.root}] is used by another Model Registry process"
            ) from None
        self._lock_fd = fd

    def close(self) -> None:
        """Release the archive directory."""
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            os.close(fd)  # also releases the flock

    def load(self) -> list[LoadedModel]:
        """Lock the archive, create the layout if needed, clean up interrupted writes, and
        return what is stored."""
        self.root.mkdir(parents=True, exist_ok=True)
        if self._lock_fd is None:
            self._lock()
        self._models.mkdir(parents=True, exist_ok=True)
        self._trash.mkdir(parents=True, exist_ok=True)
        format_file = self.root / "FORMAT"
        if format_file.exists():
            found = format_file.read_text(encoding="utf-8").strip()
            if found != _FORMAT:
                raise ValueError(
                    f"archive directory [{self.root}] has format [{found}], expected [{_FORMAT}]"
                )
        else:
            _write_atomic(format_file, _FORMAT.encode("utf-8"))
        for leftover in self._trash.iterdir():
            shutil.rmtree(leftover, ignore_errors=True)

        loaded: list[LoadedModel] = []
        for model_dir in sorted(self._models.iterdir()):
            if not model_dir.is_dir():
                continue
            model = self._load_model(model_dir)
            if model is not None:
                self._dirs[model.record.model_id] = model_dir
                loaded.append(model)
        return loaded

    def _load_model(self, model_dir: Path) -> LoadedModel | None:
        try:
            raw = json.loads((model_dir / "model.json").read_bytes())
            record = ModelRecord(
                model_id=str(raw["model_id"]),
                user_data=_str_dict(raw.get("user_data", {}), "user_data"),
            )
        except (OSError, ValueError, KeyError, TypeError) as error:
            # model.json is written (atomically) before the model is acknowledged: a model
            # directory without a valid one is an interrupted creation.
            _log.warning("Removing incomplete model directory [%s]: %s", model_dir, error)
            self._discard(model_dir)
            return None
        model = LoadedModel(record)
        iterations_dir = model_dir / "iterations"
        iterations_dir.mkdir(exist_ok=True)
        committed: set[str] = set()
        for info_file in sorted(iterations_dir.glob("*.json")):
            try:
                iteration = _iteration_from_json(info_file.read_bytes())
                data_file = info_file.with_suffix(".data")
                if iteration.model_id != record.model_id:
                    raise ValueError(f"belongs to model [{iteration.model_id}]")
                if info_file.stem != _iteration_stem(iteration.number):
                    raise ValueError("file name does not match the iteration number")
                if data_file.stat().st_size != iteration.data_size:
                    raise ValueError("data size does not match the recorded size")
            except (OSError, ValueError, KeyError, TypeError) as error:
                _log.error(
                    "Ignoring unreadable stored iteration [%s] of model [%s]: %s",
                    info_file,
                    record.model_id,
                    error,
                )
                continue
            committed.add(info_file.stem)
            model.iterations.append(iteration)
        for stray in iterations_dir.iterdir():
            # Data without its info file (interrupted before the commit), temporary files.
            if stray.suffix == ".data" and stray.stem in committed:
                continue
            if stray.suffix == ".json" and stray.stem in committed:
                continue
            if stray.suffix == ".json":
                continue  # unreadable info kept for inspection (logged above)
            with contextlib.suppress(OSError):
                stray.unlink()
        with contextlib.suppress(OSError, ValueError):
            model.last_number = int((model_dir / "last_iteration").read_text("ascii").strip())
        if model.iterations:
            model.last_number = max(model.last_number, model.iterations[-1].number)
        return model

    # --------------------------------------------------------------------------- models

    def _model_dir(self, model_id: str) -> Path:
        known = self._dirs.get(model_id)
        return known if known is not None else self._models / model_dir_name(model_id)

    def save_model(self, record: ModelRecord) -> None:
        """Create or overwrite ``record`` (durable when this returns)."""
        model_dir = self._model_dir(record.model_id)
        created = not model_dir.exists()
        (model_dir / "iterations").mkdir(parents=True, exist_ok=True)
        payload = json.dumps(
            {"model_id": record.model_id, "user_data": record.user_data}, sort_keys=True
        ).encode("utf-8")
        _write_atomic(model_dir / "model.json", payload)
        if created:
            _fsync_dir(self._models)
        self._dirs[record.model_id] = model_dir

    def delete_model(self, model_id: str) -> None:
        """Remove the model and all its stored iterations (durable when this returns)."""
        model_dir = self._model_dir(model_id)
        self._dirs.pop(model_id, None)
        if model_dir.exists():
            self._discard(model_dir)

    def _discard(self, path: Path) -> None:
        target = self._trash / f"{path.name[:60]}-{uuid.uuid4().hex}"
        os.replace(path, target)
        _fsync_dir(path.parent)
        shutil.rmtree(target, ignore_errors=True)

    def save_last_number(self, model_id: str, number: int) -> None:
        """Remember the highest number handed out (so transient numbers are not reused)."""
        model_dir = self._model_dir(model_id)
        # Not fsynced: after a power loss the stored iterations still bound the numbering.
        _write_atomic(model_dir / "last_iteration", str(number).encode("ascii"), durable=False)

    # ----------------------------------------------------------------------- iterations

    def begin_data(self, model_id: str) -> PendingData:
        """A temporary file, in the model's directory, to receive a new iteration's data."""
        iterations_dir = self._model_dir(model_id) / "iterations"
        return PendingData(iterations_dir / f".upload-{uuid.uuid4().hex}.tmp")

    def commit_pending(self, record: IterationRecord, pending: PendingData) -> None:
        """Store an iteration received in ``pending``: its data file is synced and renamed in
        place, then its info is written (the commit); durable on return."""
        if pending.size != record.data_size or pending.digest != record.data_hash:
            raise ArchiveCorruptionError(
                f"iteration [{record.number}] of model [{record.model_id}]: data does not match"
                " its size/hash"
            )
        pending.finish()
        iterations_dir = self._model_dir(record.model_id) / "iterations"
        stem = _iteration_stem(record.number)
        os.replace(pending.path, iterations_dir / f"{stem}.data")
        _fsync_dir(iterations_dir)
        _write_atomic(iterations_dir / f"{stem}.json", _iteration_to_json(record))

    def open_iteration(self, record: IterationRecord) -> BinaryIO:
        """Open the stored data of ``record`` for reading (raises ``OSError`` if missing)."""
        path = (
            self._model_dir(record.model_id)
            / "iterations"
            / f"{_iteration_stem(record.number)}.data"
        )
        return open(path, "rb")

    def verify(self, record: IterationRecord, file: BinaryIO) -> None:
        """Check size and SHA-256 of an opened iteration; leaves ``file`` at its start."""
        file.seek(0)
        hasher = hashlib.sha256()
        size = 0
        for block in iter(lambda: file.read(_READ_BLOCK), b""):
            hasher.update(block)
            size += len(block)
        file.seek(0)
        found = base64.b64encode(hasher.digest()).decode("ascii")
        if size != record.data_size or found != record.data_hash:
            raise ArchiveCorruptionError(
                f"stored iteration [{record.number}] of model [{record.model_id}] is corrupted:"
                f" size {size} (expected {record.data_size}), SHA-256 [{found}]"
                f" (expected [{record.data_hash}])"
            )

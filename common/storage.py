"""Storage of generated files: a local directory, or S3-compatible object storage when S3_BUCKET is set."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from pathlib import Path, PurePosixPath

_CONFIG_KEYS = (
    "STORAGE_DIR",
    "S3_BUCKET",
    "S3_ENDPOINT_URL",
    "S3_REGION",
    "S3_ACCESS_KEY_ID",
    "S3_SECRET_ACCESS_KEY",
)
_instances: dict[tuple, LocalStorage | S3Storage] = {}
_instances_lock = threading.Lock()


class StorageError(Exception):
    """The storage backend failed (unreachable, denied, misconfigured); usually worth a retry."""


class StorageNotFound(StorageError):
    """No object under that key."""


def _check_key(key: str) -> str:
    """Keys are relative slash-separated paths; nothing may climb out of the storage root."""
    path = PurePosixPath(key)
    if (
        not key
        or key != key.strip()
        or path.is_absolute()
        or any(p in ("", ".", "..") for p in key.split("/"))
    ):
        raise ValueError(f"invalid storage key {key!r}")
    return str(path)


class LocalStorage:
    """Objects as files under one directory (the embedded default; one machine only)."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / _check_key(key)

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Write then rename: a reader never sees a half-written file, a crash leaves no torn one.
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        except OSError as exc:
            raise StorageError(f"cannot write {key}: {exc}") from exc
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException as exc:
            Path(tmp).unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise StorageError(f"cannot write {key}: {exc}") from exc
            raise

    def put_file(
        self, key: str, source: str | os.PathLike, content_type: str = "application/octet-stream"
    ) -> None:
        """Store a file from disk without reading it into memory (large exports)."""
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            os.close(fd)
        except OSError as exc:
            raise StorageError(f"cannot write {key}: {exc}") from exc
        try:
            shutil.copyfile(source, tmp)
            os.replace(tmp, path)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise StorageError(f"cannot write {key}: {exc}") from exc

    def open(self, key: str):
        """A binary file object to stream the object from; the caller closes it."""
        try:
            return self._path(key).open("rb")
        except FileNotFoundError as exc:
            raise StorageNotFound(key) from exc
        except OSError as exc:
            raise StorageError(f"cannot read {key}: {exc}") from exc

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as exc:
            raise StorageNotFound(key) from exc
        except OSError as exc:
            raise StorageError(f"cannot read {key}: {exc}") from exc

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


class S3Storage:
    """Objects in an S3-compatible bucket (AWS S3, MinIO, R2...), shared by web and workers on any machine."""

    def __init__(
        self,
        *,
        bucket: str,
        endpoint_url: str = "",
        region: str = "us-east-1",
        access_key_id: str = "",
        secret_access_key: str = "",
    ):
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        # Path-style addressing works with every S3-compatible server; AWS accepts it too.
        config = Config(
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=5,
            read_timeout=30,
            s3={"addressing_style": "path"} if endpoint_url else None,
        )
        credentials = {}
        if access_key_id:
            credentials = {"aws_access_key_id": access_key_id, "aws_secret_access_key": secret_access_key}
        # A session of its own: boto3's default session is not thread-safe, a client is.
        self.client = boto3.session.Session().client(
            "s3", endpoint_url=endpoint_url or None, region_name=region or None, config=config, **credentials
        )

    def _call(self, method: str, key: str, **kwargs):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, method)(Bucket=self.bucket, Key=_check_key(key), **kwargs)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("NoSuchKey", "404", "NotFound"):
                raise StorageNotFound(key) from exc
            raise StorageError(f"S3 {method} {key}: {code or exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"S3 {method} {key}: {exc}") from exc

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        self._call("put_object", key, Body=data, ContentType=content_type)

    def put_file(
        self, key: str, source: str | os.PathLike, content_type: str = "application/octet-stream"
    ) -> None:
        """Upload a file from disk in parts (multipart for large files), never all in memory."""
        from boto3.exceptions import S3UploadFailedError
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.upload_file(
                str(source), self.bucket, _check_key(key), ExtraArgs={"ContentType": content_type}
            )
        except (S3UploadFailedError, BotoCoreError, ClientError) as exc:
            raise StorageError(f"S3 upload {key}: {exc}") from exc

    def open(self, key: str):
        """The object's streaming body (read in chunks; close it when done)."""
        return self._call("get_object", key)["Body"]

    def get(self, key: str) -> bytes:
        from botocore.exceptions import BotoCoreError

        body = self._call("get_object", key)["Body"]
        try:
            return body.read()
        except BotoCoreError as exc:
            raise StorageError(f"S3 get_object {key}: {exc}") from exc
        finally:
            body.close()

    def exists(self, key: str) -> bool:
        try:
            self._call("head_object", key)
        except StorageNotFound:
            return False
        return True

    def delete(self, key: str) -> None:
        self._call("delete_object", key)


def make_storage(config) -> LocalStorage | S3Storage:
    """The backend the settings ask for: S3 when S3_BUCKET is set, else the STORAGE_DIR directory."""
    if config.get("S3_BUCKET"):
        return S3Storage(
            bucket=config["S3_BUCKET"],
            endpoint_url=config.get("S3_ENDPOINT_URL", ""),
            region=config.get("S3_REGION", ""),
            access_key_id=config.get("S3_ACCESS_KEY_ID", ""),
            secret_access_key=config.get("S3_SECRET_ACCESS_KEY", ""),
        )
    return LocalStorage(config["STORAGE_DIR"])


def get_storage(config=None) -> LocalStorage | S3Storage:
    """The shared backend for the current app's settings (one S3 client per process and settings)."""
    if config is None:
        from flask import current_app

        config = current_app.config
    key = tuple(config.get(name) for name in _CONFIG_KEYS)
    storage = _instances.get(key)
    if storage is None:
        with _instances_lock:
            storage = _instances.get(key)
            if storage is None:
                storage = _instances[key] = make_storage(config)
    return storage

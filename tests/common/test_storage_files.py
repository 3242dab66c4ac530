"""Large files go to storage from disk and come back as a stream, on both backends."""

from __future__ import annotations

import pytest

from common.storage import LocalStorage, S3Storage, StorageError, StorageNotFound
from tests.common.test_storage import S3_CREDS, bucket, s3_endpoint  # noqa: F401  (fixtures)

PAYLOAD = b"id,name\n" + b"".join(b"%d,row\n" % i for i in range(50_000))


def _roundtrip(storage, tmp_path):
    source = tmp_path / "report.csv"
    source.write_bytes(PAYLOAD)
    storage.put_file("reports/r.csv", source, content_type="text/csv")
    fh = storage.open("reports/r.csv")
    try:
        chunks = []
        while chunk := fh.read(65536):
            chunks.append(chunk)
    finally:
        fh.close()
    assert b"".join(chunks) == PAYLOAD
    storage.delete("reports/r.csv")
    with pytest.raises(StorageNotFound):
        storage.open("reports/r.csv")


def test_local_put_file_and_open(tmp_path):
    storage = LocalStorage(tmp_path / "store")
    _roundtrip(storage, tmp_path)
    assert [p.name for p in (tmp_path / "store" / "reports").iterdir()] == []  # no temp file left
    with pytest.raises(StorageError):
        storage.put_file("reports/x.csv", tmp_path / "missing.csv")
    (tmp_path / "store" / "dir.csv").mkdir()
    with pytest.raises(StorageError):
        storage.open("dir.csv")


def test_s3_put_file_and_open(tmp_path, s3_endpoint, bucket):  # noqa: F811
    storage = S3Storage(
        bucket=bucket,
        endpoint_url=s3_endpoint,
        region=S3_CREDS["S3_REGION"],
        access_key_id=S3_CREDS["S3_ACCESS_KEY_ID"],
        secret_access_key=S3_CREDS["S3_SECRET_ACCESS_KEY"],
    )
    _roundtrip(storage, tmp_path)
    missing = S3Storage(
        bucket="no-such-bucket",
        endpoint_url=s3_endpoint,
        region="us-east-1",
        access_key_id="testing",
        secret_access_key="testing",
    )
    source = tmp_path / "a.csv"
    source.write_bytes(b"x")
    with pytest.raises(StorageError):
        missing.put_file("reports/a.csv", source)

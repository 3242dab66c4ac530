"""Storage backends: the local directory and S3-compatible object storage (a real moto server)."""

from __future__ import annotations

import socket

import boto3
import pytest

from common.storage import LocalStorage, S3Storage, StorageError, StorageNotFound, get_storage, make_storage


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint():
    """A local S3-compatible server: the real boto3 code path runs against it over HTTP."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


S3_CREDS = {"S3_REGION": "us-east-1", "S3_ACCESS_KEY_ID": "testing", "S3_SECRET_ACCESS_KEY": "testing"}


@pytest.fixture
def bucket(s3_endpoint):
    name = f"certs-{_free_port()}"
    boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).create_bucket(Bucket=name)
    return name


def test_local_put_get_exists_delete(tmp_path):
    storage = LocalStorage(tmp_path / "store")
    assert not storage.exists("certificates/1.pdf")
    storage.put("certificates/1.pdf", b"%PDF-1 first", "application/pdf")
    storage.put("certificates/1.pdf", b"%PDF-1 second", "application/pdf")  # overwrite in place
    assert storage.get("certificates/1.pdf") == b"%PDF-1 second"
    assert storage.exists("certificates/1.pdf")
    assert sorted(p.name for p in (tmp_path / "store" / "certificates").iterdir()) == [
        "1.pdf"
    ]  # no temp left
    storage.delete("certificates/1.pdf")
    storage.delete("certificates/1.pdf")  # deleting twice is fine
    assert not storage.exists("certificates/1.pdf")
    with pytest.raises(StorageNotFound):
        storage.get("certificates/1.pdf")


def test_local_os_errors_are_storage_errors(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StorageError):
        LocalStorage(blocker).put("a.pdf", b"x")
    (tmp_path / "dir.pdf").mkdir()
    with pytest.raises(StorageError) as info:
        LocalStorage(tmp_path).get("dir.pdf")  # a directory, not a file
    assert not isinstance(info.value, StorageNotFound)
    with pytest.raises(StorageError):
        LocalStorage(tmp_path).put("dir.pdf", b"x")  # cannot replace a directory with a file


@pytest.mark.parametrize("key", ["", "../etc/passwd", "/abs/path", "a/../../b", "a//b", "./a", " a"])
def test_keys_cannot_escape_the_root(tmp_path, key):
    storage = LocalStorage(tmp_path)
    with pytest.raises(ValueError):
        storage.put(key, b"x")
    with pytest.raises(ValueError):
        storage.get(key)


def test_s3_put_get_exists_delete(s3_endpoint, bucket):
    storage = make_storage(
        {"S3_BUCKET": bucket, "S3_ENDPOINT_URL": s3_endpoint, **S3_CREDS, "STORAGE_DIR": "/nope"}
    )
    assert isinstance(storage, S3Storage)
    assert not storage.exists("certificates/7.pdf")
    storage.put("certificates/7.pdf", b"%PDF-1.4 s3", "application/pdf")
    assert storage.exists("certificates/7.pdf")
    assert storage.get("certificates/7.pdf") == b"%PDF-1.4 s3"
    # What another machine sees: the object, with its content type, in the bucket.
    raw = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).get_object(Bucket=bucket, Key="certificates/7.pdf")
    assert raw["ContentType"] == "application/pdf" and raw["Body"].read() == b"%PDF-1.4 s3"
    storage.delete("certificates/7.pdf")
    assert not storage.exists("certificates/7.pdf")
    with pytest.raises(StorageNotFound):
        storage.get("certificates/7.pdf")


def test_s3_missing_bucket_and_unreachable_server_are_storage_errors(s3_endpoint):
    missing = make_storage({"S3_BUCKET": "no-such-bucket", "S3_ENDPOINT_URL": s3_endpoint, **S3_CREDS})
    with pytest.raises(StorageError) as info:
        missing.put("k.pdf", b"x")
    assert not isinstance(info.value, StorageNotFound)
    down = make_storage({"S3_BUCKET": "b", "S3_ENDPOINT_URL": f"http://127.0.0.1:{_free_port()}", **S3_CREDS})
    with pytest.raises(StorageError):
        down.get("k.pdf")


def test_get_storage_follows_the_settings(app, tmp_path, s3_endpoint, bucket):
    local = get_storage({"STORAGE_DIR": str(tmp_path)})
    assert isinstance(local, LocalStorage) and local.root == tmp_path
    assert get_storage({"STORAGE_DIR": str(tmp_path)}) is local  # one instance per settings
    s3 = get_storage(
        {"STORAGE_DIR": str(tmp_path), "S3_BUCKET": bucket, "S3_ENDPOINT_URL": s3_endpoint, **S3_CREDS}
    )
    assert isinstance(s3, S3Storage) and s3.bucket == bucket
    assert isinstance(get_storage(), LocalStorage)  # the app under test uses its STORAGE_DIR
    assert str(get_storage().root) == app.config["STORAGE_DIR"]

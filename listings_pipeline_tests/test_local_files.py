"""Local files (issue 16): a config reads only files under the allowed roots — checked before
anything is read, symlinks and `..` resolved — while the operator's `--input` stays free; raw
files, uploads, inbox moves and stored images are for the service user only, whatever the
umask."""

from __future__ import annotations

import io
import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, text

from listings_pipeline import pipeline
from listings_pipeline.configs.loader import ConfigError, load_config
from listings_pipeline.console.launcher import save_upload
from listings_pipeline.images.store import LocalImageStore
from listings_pipeline.importing.inbox import LocalInbox
from listings_pipeline.importing.input_roots import InputNotAllowed
from listings_pipeline.importing.raw_store import LocalRawStore
from listings_pipeline.settings import get_settings
from listings_pipeline_tests.conftest import count
from listings_pipeline_tests.dagster_support import execute, failures, write_source
from listings_pipeline_tests.helpers import csv_config, place, write_csv

PASSWD_IMPORT = {"delimiter": ":", "skip_header": False, "source_id": {"field": "ID"}}
NOTHING = ("pipeline.jobs", "pipeline.files", "pipeline.job_errors", "stage.listings_flat")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def inbox_folder(listings_home: Path) -> Iterator[Path]:
    folder = get_settings().inbox_dir / "roots-test"
    folder.mkdir(parents=True, exist_ok=True)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The loosest umask: modes must not depend on it."""
    old = os.umask(0)
    yield
    os.umask(old)


# --- which files a config may name -------------------------------------------------------------
@pytest.mark.parametrize(
    "source_url",
    [
        "/etc/passwd",
        "{inbox}/../../../../../../etc/passwd",  # `..` out of an allowed root
        "{home}/pgdata/postgresql.conf",  # LISTINGS_HOME itself is not a root
        "etc/passwd",  # relative: resolved against the working directory
    ],
)
def test_a_config_naming_a_file_outside_the_roots_is_refused_at_validation(
    config_dir: Path, inbox_folder: Path, listings_home: Path, source_url: str
) -> None:
    url = source_url.format(inbox=inbox_folder, home=listings_home)
    path = write_source(config_dir, "passwd-csv", source_url=url, **{"import": PASSWD_IMPORT})
    with pytest.raises(ConfigError) as err:
        load_config(path)
    (key, message), *_ = err.value.problems
    assert key == "source_url"
    assert "is outside the directories a config may read" in message
    assert str(get_settings().inbox_dir) in message and "LISTINGS_ALLOWED_INPUT_ROOTS" in message


def test_the_passwd_config_run_by_the_daemon_path_reads_nothing(
    engine: Engine, config_dir: Path
) -> None:
    """What the schedule sensor and "Run now" without an upload start: a run of the partition
    with no input path, so the config's source_url is the input."""
    write_source(config_dir, "passwd-csv", source_url="/etc/passwd", **{"import": PASSWD_IMPORT})
    with dg.instance_for_test() as instance:
        result = execute(instance, "listings_pipeline", "passwd-csv")
    assert not result.success
    (message,) = failures(result)
    assert "source_url" in message and "/etc/passwd is outside the directories" in message
    assert {table: count(engine, table) for table in NOTHING} == dict.fromkeys(NOTHING, 0)
    assert count(engine, "public.listings") == 0


def test_a_symlink_swapped_in_after_validation_is_refused_before_reading(
    engine: Engine, inbox_folder: Path
) -> None:
    feed = write_csv(inbox_folder / "feed.csv", [place(1)])
    config = csv_config("roots-test", source_url=str(feed))  # valid: a file in the inbox
    job_id = pipeline.start_job(engine, config, input_path=None)
    feed.unlink()
    feed.symlink_to("/etc/passwd")  # the file system changed since the config was checked

    with pytest.raises(InputNotAllowed, match=r"resolved: /etc/passwd\) is outside"):
        pipeline.start_job(engine, config, input_path=None)
    with pytest.raises(InputNotAllowed):
        pipeline.import_stage(engine, job_id, config, None)
    assert count(engine, "pipeline.jobs") == 1  # only the job made before the swap
    assert [count(engine, t) for t in NOTHING[1:]] == [0, 0, 0]


def test_files_under_the_roots_and_the_operators_input_are_read(
    engine: Engine, inbox_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    feed = write_csv(inbox_folder / "feed.csv", [place(1), place(2)])
    in_inbox = csv_config("roots-test", source_url=str(feed))
    job = pipeline.start_job(engine, in_inbox, input_path=None)
    assert pipeline.import_stage(engine, job, in_inbox, None).counts.total == 2

    # The operator's own directory, once allowed.
    (tmp_path / "exports").mkdir()
    extra = write_csv(tmp_path / "exports" / "feed.csv", [place(3)])
    with pytest.raises(ValidationError, match="outside the directories"):
        csv_config("roots-test", source_url=str(extra))
    monkeypatch.setenv("LISTINGS_ALLOWED_INPUT_ROOTS", f"/nonexistent{os.pathsep}{tmp_path}")
    allowed = csv_config("roots-test", source_url=str(extra))
    job = pipeline.start_job(engine, allowed, input_path=None)
    assert pipeline.import_stage(engine, job, allowed, None).counts.total == 1

    # The CLI's --input PATH (the operator's shell) is not limited to the roots.
    monkeypatch.delenv("LISTINGS_ALLOWED_INPUT_ROOTS")
    plain = csv_config("roots-test")
    job = pipeline.start_job(engine, plain, input_path=extra)
    assert pipeline.import_stage(engine, job, plain, extra).counts.total == 1


def test_an_inbox_symlink_leading_outside_is_refused(tmp_path: Path) -> None:
    inbox = LocalInbox(tmp_path / "inbox")
    folder = tmp_path / "inbox" / "roots-test"
    folder.mkdir(parents=True)
    (folder / "passwd.csv").symlink_to("/etc/passwd")
    (item,) = inbox.pending("roots-test", min_age_seconds=0)
    with (
        pytest.raises(InputNotAllowed, match="leads outside the inbox"),
        inbox.local_copy(item),
    ):
        pass


# --- who may read what the pipeline writes ----------------------------------------------------
def test_raw_files_are_read_only_for_the_service_user(tmp_path: Path, open_umask: None) -> None:
    store = LocalRawStore(tmp_path / "raw")
    with store.writer("dev/demo/2026/05/file-1.jsonl.gz") as out:
        out.write(b"{}")
    path = tmp_path / "raw" / "dev/demo/2026/05/file-1.jsonl.gz"
    assert mode(path) == 0o400
    directory = path.parent
    while directory != tmp_path:  # raw/, raw/dev/, … raw/dev/demo/2026/05/
        assert mode(directory) == 0o700, directory
        directory = directory.parent


def test_a_real_import_writes_private_raw_files(
    engine: Engine, tmp_path: Path, open_umask: None
) -> None:
    feed = write_csv(tmp_path / "feed.csv", [place(1)])
    config = csv_config("modes-csv")
    job = pipeline.start_job(engine, config, input_path=feed)
    pipeline.import_stage(engine, job, config, feed)
    raw = get_settings().raw_dir
    with engine.connect() as conn:
        paths = conn.execute(
            text("SELECT file_path FROM pipeline.files WHERE job_id = :j"), {"j": job}
        ).scalars()
        files = [raw / p if not Path(p).is_absolute() else Path(p) for p in paths]
    assert files and {mode(f) for f in files} == {0o400}
    for written in files:
        directory = written.parent
        while directory != raw.parent:  # every directory from the file up to raw/
            assert mode(directory) == 0o700, directory
            directory = directory.parent


def test_uploads_are_private(listings_home: Path, open_umask: None) -> None:
    path = save_upload(csv_config("uploads-csv"), "feed.csv", io.BytesIO(b"ID,Name\n1,A\n"))
    try:
        assert mode(path) == 0o600
        assert mode(path.parent) == 0o700
        assert mode(get_settings().uploads_dir) == 0o700
    finally:
        shutil.rmtree(path.parent)


def test_inbox_moves_are_private(tmp_path: Path, open_umask: None) -> None:
    inbox = LocalInbox(tmp_path / "inbox")
    folder = tmp_path / "inbox" / "modes-csv"
    folder.mkdir(parents=True)
    (folder / "ok.csv").write_text("ID,Name\n1,A\n")
    (folder / "bad.csv").write_text("ID,Name\n1,A\n")
    assert mode(folder / "ok.csv") == 0o666  # as an uploader with an open umask leaves it
    ok, bad = sorted(
        inbox.pending("modes-csv", min_age_seconds=0), key=lambda i: i.name != "ok.csv"
    )
    done = Path(inbox.move_aside(ok, "done", job_id=1))
    failed = Path(inbox.move_aside(bad, "failed", reason="line 2: broken"))
    assert mode(done) == 0o600 and mode(failed) == 0o600
    assert mode(failed.with_name(failed.name + ".error.txt")) == 0o600
    assert mode(done.parent) == 0o700 and mode(failed.parent) == 0o700


def test_stored_images_are_private(tmp_path: Path, open_umask: None) -> None:
    store = LocalImageStore(tmp_path / "images")
    store.put("1/2/abc-web.webp", b"RIFF", "image/webp")
    assert mode(tmp_path / "images" / "1/2/abc-web.webp") == 0o600
    for directory in ("images", "images/1", "images/1/2"):
        assert mode(tmp_path / directory) == 0o700

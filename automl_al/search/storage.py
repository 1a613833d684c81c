"""Where a study lives: a SQLite file in the run directory, or any Optuna RDB URL (PostgreSQL for
many workers on many machines).

Two processes creating the same new storage at once crash one of them (tables and the version row
are created check-then-insert). So creation, study creation and the first bookkeeping happen under
a lock: ``pg_advisory_lock`` on PostgreSQL (works across machines), ``flock`` on a file beside a
SQLite database, plus a few jittered retries on database errors for other back ends.

SQLite is for one worker: a worker holds an exclusive ``flock`` for the whole search, so when it
gets the lock every RUNNING trial was left by a dead process and can be re-queued at once. Other
storages use Optuna's heartbeat: a RUNNING trial whose worker stopped beating for GRACE_SECONDS is
failed and re-queued by the next worker that starts a trial.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import random
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import optuna
import sqlalchemy
from sqlalchemy.engine import URL, make_url

from automl_al.errors import AutomlAlError
from automl_al.search.failures import retry_lost_trial

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 60
GRACE_SECONDS = 180
ATTEMPTS = 5
_PG_LOCK_KEY = 0x6175746F6D6C  # "automl" (one advisory lock per PostgreSQL database)

T = TypeVar("T")


class StorageError(AutomlAlError, RuntimeError):
    """The storage cannot be used (busy, unreachable, wrong study); the message says what to do."""


def default_storage_url(run_dir: Path) -> str:
    return f"sqlite:///{(Path(run_dir) / 'search' / 'optuna.db').resolve()}"


def parse_url(url: str) -> URL:
    """``url`` parsed; one that is not a database URL is a :class:`StorageError` saying what one is."""
    try:
        return make_url(url)
    except sqlalchemy.exc.ArgumentError:
        raise StorageError(
            f"storage {url!r} is not a database URL; give sqlite:///path/optuna.db or "
            "postgresql://user:password@host:5432/db"
        ) from None


def sqlite_path(url: str) -> Path | None:
    """The database file of a ``sqlite:///`` URL, else None."""
    parsed = parse_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def display_url(url: str) -> str:
    """The URL with any password masked (for logs, tags and printed lines)."""
    return parse_url(url).render_as_string(hide_password=True)


@contextlib.contextmanager
def _file_lock(path: Path, *, blocking: bool) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            raise StorageError(
                f"another automl-al search is using {path.with_suffix('')}; SQLite allows one worker at a "
                "time: wait for it, or run several workers on PostgreSQL (--storage postgresql://...)"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def missing_driver(url: str, error: ImportError) -> StorageError:
    return StorageError(
        f"storage {display_url(url)}: database driver missing ({error}); install it, or name an installed "
        "driver in the URL (postgresql:// works with the psycopg and psycopg2 that automl-al installs)"
    )


@contextlib.contextmanager
def creation_lock(url: str) -> Iterator[None]:
    """Serialise storage/study creation among all workers of ``url``."""
    db = sqlite_path(url)
    if db is not None:
        with _file_lock(db.with_name(db.name + ".create.lock"), blocking=True):
            yield
        return
    if parse_url(url).get_backend_name() != "postgresql":
        yield
        return
    try:
        engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
    except ImportError as e:
        raise missing_driver(url, e) from e
    try:
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK_KEY})
            try:
                yield
            finally:
                conn.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_KEY})
    finally:
        engine.dispose()


@contextlib.contextmanager
def worker_lock(url: str) -> Iterator[bool]:
    """Held for a whole search. Yields True when this worker is the only one (SQLite), so that
    RUNNING trials found now are orphans; False for multi-worker storages."""
    db = sqlite_path(url)
    if db is None:
        yield False
        return
    with _file_lock(db.with_name(db.name + ".worker.lock"), blocking=False):
        yield True


def _retry(what: str, fn: Callable[[], T]) -> T:
    """``fn()`` with jittered retries on database errors (a race with another worker's first use)."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return fn()
        except (sqlalchemy.exc.SQLAlchemyError, optuna.exceptions.DuplicatedStudyError) as e:
            if attempt == ATTEMPTS:
                raise StorageError(f"{what} failed {ATTEMPTS} times: {e}") from e
            log.debug("%s: attempt %d failed (%s); retrying", what, attempt, e)
            time.sleep(random.uniform(0.1, 0.5) * attempt)
    raise AssertionError("unreachable")


def open_storage(url: str, *, single_worker: bool) -> optuna.storages.RDBStorage:
    """Create (once) or open the RDB storage; multi-worker storages get heartbeats."""
    db = sqlite_path(url)
    if db is not None:
        db.parent.mkdir(parents=True, exist_ok=True)
    heartbeat = {} if single_worker else {
        "heartbeat_interval": HEARTBEAT_SECONDS,
        "grace_period": GRACE_SECONDS,
        "heartbeat_stale_trial_callback": retry_lost_trial,
    }
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # heartbeats: stable since v2.9
            return _retry(
                f"opening storage {display_url(url)}",
                lambda: optuna.storages.RDBStorage(url, engine_kwargs=_engine_kwargs(url), **heartbeat),
            )
    except ImportError as e:
        raise missing_driver(url, e) from e


def _engine_kwargs(url: str) -> dict[str, object]:
    # SQLite: wait for a lock instead of failing at once while the dashboard reads the file.
    return {"connect_args": {"timeout": 30}} if sqlite_path(url) is not None else {"pool_pre_ping": True}


def open_study(storage: optuna.storages.RDBStorage, name: str) -> optuna.Study:
    """Create the study, or load it if it exists (maximising the validation score)."""
    return _retry(
        f"creating study {name!r}",
        lambda: optuna.create_study(storage=storage, study_name=name, direction="maximize", load_if_exists=True),
    )

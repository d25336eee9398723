"""One execution layer for chunked work: in-process by default, dask.distributed tasks when a client is set.

:func:`map_chunks` runs a function over chunks (of samples, slides or permutation blocks) and returns the
results in chunk order, so a result never depends on where or in which order the chunks ran. It runs them

* in this process (optionally on ``n_jobs`` threads) when ``tmescope.settings.client`` is ``None``;
* as tasks on a ``dask.distributed`` cluster when ``tmescope.settings.client`` is a ``Client`` (or ``client=`` is
  given). A worker that dies mid-run is replaced and its tasks are re-run by the scheduler.

With ``checkpoint_dir`` every finished chunk is written there atomically (temporary name, then rename), chunks
whose file exists are not run again (resume after a crash), and chunks that fail are reported together by their
IDs in one :class:`ChunkError` after every other chunk has finished and been saved.

:func:`use_scheduler` connects to a scheduler address or starts a local cluster (``"local:N"``) for the length of
a ``with`` block, sets ``tmescope.settings.client`` and prints the dashboard address.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import pickle
import sys
import uuid
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from tmescope._errors import InputError, TmescopeError
from tmescope._progress import progress
from tmescope._provenance import atomic_path
from tmescope._settings import settings

if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Iterator, Sequence

__all__ = ["ChunkError", "ChunkFailure", "chunk_bounds", "map_chunks", "use_scheduler"]

logger = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")

#: Tasks kept in flight per worker thread: enough to hide latency, few enough that the driver holds little data.
_IN_FLIGHT_PER_THREAD = 2
_MANIFEST = "{key}.manifest.json"


@dataclass(frozen=True)
class ChunkFailure:
    """One chunk that failed: its index, its ID (e.g. ``"samples S1..S50"``) and the error text."""

    index: int
    chunk_id: str
    error: str


class ChunkError(TmescopeError, RuntimeError):
    """Some chunks failed; every other chunk finished (and was saved when checkpointing).

    ``failures`` lists each failed chunk; re-running with the same checkpoint folder runs only those.
    """

    def __init__(self, message: str, failures: list[ChunkFailure]) -> None:
        super().__init__(message)
        self.failures = failures


def chunk_bounds(n: int, chunk_size: int) -> list[tuple[int, int]]:
    """Half-open ``(lo, hi)`` ranges covering ``range(n)`` in steps of ``chunk_size``.

    Examples
    --------
    >>> chunk_bounds(5, 2)
    [(0, 2), (2, 4), (4, 5)]
    """
    if int(chunk_size) < 1:
        msg = f"`chunk_size` must be a positive number; received {chunk_size}."
        raise InputError(msg)
    return [(lo, min(lo + int(chunk_size), n)) for lo in range(0, n, int(chunk_size))]


def _in_worker() -> bool:
    """True inside a dask worker: nested chunk loops there run in-process instead of submitting new tasks."""
    if "distributed" not in sys.modules:
        return False
    from distributed import get_worker

    try:
        get_worker()
    except ValueError:
        return False
    return True


def _active_client(client: Any) -> Any:
    if client is not None:
        return client
    if settings.client is None or _in_worker():
        return None
    return settings.client


def _fingerprint(ids: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16]


def _checkpoint_paths(checkpoint_dir: Path, key: str, ids: Sequence[str]) -> list[Path]:
    """One file per chunk; the manifest ties the files to this exact list of chunk IDs."""
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    manifest = checkpoint_dir / _MANIFEST.format(key=key)
    info = {"key": key, "n_chunks": len(ids), "ids_sha256": _fingerprint(ids), "first_ids": list(ids[:3])}
    if manifest.exists():
        old = json.loads(manifest.read_text())
        if old.get("ids_sha256") != info["ids_sha256"]:
            msg = (
                f"Checkpoint folder {checkpoint_dir} holds {old.get('n_chunks')} chunks of '{key}' from a run with "
                f"other chunks (first IDs {old.get('first_ids')}; this run: {info['first_ids']}, {len(ids)} chunks). "
                "Re-run with the same input and chunk size to resume, or delete the folder to start afresh."
            )
            raise InputError(msg)
    else:
        with atomic_path(manifest) as tmp:
            tmp.write_text(json.dumps(info, indent=1))
    return [checkpoint_dir / f"{key}-{i:06d}.pkl" for i in range(len(ids))]


def _save(path: Path, value: Any) -> None:
    with atomic_path(path) as tmp, tmp.open("wb") as fh:
        pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)


def _load(path: Path) -> Any:
    # Checkpoints are written by this module into the user's own output folder.
    with path.open("rb") as fh:
        return pickle.load(fh)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def map_chunks(
    func: Callable[..., R],
    chunks: Sequence[T],
    *,
    ids: Sequence[str] | None = None,
    load: Callable[[T], Any] | None = None,
    key: str = "chunk",
    checkpoint_dir: str | os.PathLike[str] | None = None,
    desc: str = "",
    n_jobs: int = 1,
    client: Any = None,
    shared: Any = None,
) -> list[R]:
    """Run ``func`` over chunks, in-process or on a dask cluster; results come back in chunk order.

    Parameters
    ----------
    func
        Called once per chunk with ``load(chunk)`` (or the chunk itself). Must be a pure function of its input:
        that is what makes results identical in-process, on 1 worker or on 100, and after a worker is lost.
    chunks
        Light chunk descriptions (e.g. ``(lo, hi)`` row ranges) or the chunk data.
    ids
        One readable ID per chunk, used in error messages (e.g. ``"samples S1..S50"``); default ``"chunk <i>"``.
    load
        Turns a chunk description into ``func``'s input, on the calling process, just before the chunk is run or
        sent; chunks restored from a checkpoint are never loaded. ``None`` passes the chunk as is (for example a
        description that ``func`` reads itself, on the worker).
    key
        Name of this loop: task-name prefix and checkpoint file prefix.
    checkpoint_dir
        Folder for one file per finished chunk; existing files are reused instead of running their chunk.
    desc
        Progress-bar label (shown when ``tmescope.settings.progress`` is on).
    n_jobs
        Threads for in-process runs; results do not depend on it.
    client
        A ``dask.distributed.Client``; default ``tmescope.settings.client``. Inside a dask worker the loop
        always runs in-process (no nested tasks).
    shared
        Data every chunk needs (e.g. the expression matrix of a permutation test): ``func`` is then called as
        ``func(shared, chunk)``. On a cluster it is sent once, as a task of its own that the scheduler can re-run
        if the worker holding it dies, and workers fetch it from one another.

    Returns
    -------
    One result per chunk, in the order of ``chunks``.

    Raises
    ------
    ChunkError
        With ``checkpoint_dir``: after all other chunks finished and were saved, naming every failed chunk.
        Without it the first failure is raised as it is, with a note naming its chunk.

    Examples
    --------
    >>> map_chunks(sum, [(1, 2), (3, 4), (5,)], ids=["a", "b", "c"])
    [3, 7, 5]
    """
    chunks = list(chunks)
    names = [str(i) for i in ids] if ids is not None else [f"chunk {i}" for i in range(len(chunks))]
    if len(names) != len(chunks):
        msg = f"`ids` must give one ID per chunk; received {len(names)} IDs for {len(chunks)} chunks."
        raise InputError(msg)
    results: list[Any] = [None] * len(chunks)
    done = [False] * len(chunks)
    paths: list[Path] | None = None
    if checkpoint_dir is not None:
        paths = _checkpoint_paths(Path(checkpoint_dir), key, names)
        for i, p in enumerate(paths):
            if p.exists():
                results[i] = _load(p)
                done[i] = True
        n_done = sum(done)
        if n_done:
            logger.info("%s: %d of %d chunks restored from %s", key, n_done, len(chunks), checkpoint_dir)
    todo = [i for i in range(len(chunks)) if not done[i]]
    failures: list[ChunkFailure] = []
    keep_going = paths is not None

    def finished(i: int, value: Any) -> None:
        results[i] = value
        if paths is not None:
            _save(paths[i], value)

    def failed(i: int, exc: BaseException) -> None:
        failures.append(ChunkFailure(i, names[i], _describe(exc)))
        if not keep_going:
            exc.add_note(f"(while running {key} {names[i]})")
            raise exc

    active = _active_client(client)
    if active is None:
        run = func if shared is None else functools.partial(func, shared)
        _run_local(run, chunks, todo, load=load, n_jobs=n_jobs, desc=desc, finished=finished, failed=failed)
    else:
        _run_dask(
            active, func, chunks, todo, load=load, key=key, desc=desc, finished=finished, failed=failed, shared=shared
        )
    if failures:
        failures.sort(key=lambda f: f.index)
        listed = "; ".join(f"{f.chunk_id} ({f.error})" for f in failures[:5])
        more = f"; and {len(failures) - 5} more" if len(failures) > 5 else ""
        where = f" The other chunks are saved in {checkpoint_dir}; re-run to resume." if paths is not None else ""
        msg = f"{len(failures)} of {len(chunks)} chunks of '{key}' failed: {listed}{more}.{where}"
        raise ChunkError(msg, failures)
    return results


def _run_local(
    func: Callable[[Any], Any],
    chunks: list[Any],
    todo: list[int],
    *,
    load: Callable[[Any], Any] | None,
    n_jobs: int,
    desc: str,
    finished: Callable[[int, Any], None],
    failed: Callable[[int, BaseException], None],
) -> None:
    def one(i: int) -> tuple[int, Any, BaseException | None]:
        try:
            return i, func(load(chunks[i]) if load is not None else chunks[i]), None
        except Exception as exc:  # reported by chunk ID (or re-raised) by the caller
            return i, None, exc

    if n_jobs > 1 and len(todo) > 1:
        with ThreadPoolExecutor(max_workers=n_jobs) as pool:
            outcomes = progress(pool.map(one, todo), total=len(todo), desc=desc)
            for i, value, exc in outcomes:
                finished(i, value) if exc is None else failed(i, exc)
        return
    for i in progress(todo, total=len(todo), desc=desc):
        _, value, exc = one(i)
        finished(i, value) if exc is None else failed(i, exc)


def _worker_threads(client: Any) -> int:
    try:
        info = client.scheduler_info(n_workers=-1)
    except TypeError:  # older distributed: no n_workers argument
        info = client.scheduler_info()
    return max(1, sum(int(w.get("nthreads", 1)) for w in info.get("workers", {}).values()))


def _run_dask(
    client: Any,
    func: Callable[[Any], Any],
    chunks: list[Any],
    todo: list[int],
    *,
    load: Callable[[Any], Any] | None,
    key: str,
    desc: str,
    finished: Callable[[int, Any], None],
    failed: Callable[[int, BaseException], None],
    shared: Any = None,
) -> None:
    from distributed import as_completed

    if not todo:
        return
    token = uuid.uuid4().hex[:12]
    lead: tuple[Any, ...] = ()
    if shared is not None:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"(?s).*[Ll]arge (graph|object)", category=UserWarning)
            # a task (not scattered data): if its worker dies, the scheduler runs it again elsewhere
            lead = (client.submit(_identity, shared, key=f"{key}-shared-{token}", pure=False),)
    window = _worker_threads(client) * _IN_FLIGHT_PER_THREAD
    queue = iter(todo)
    index_of: dict[str, int] = {}
    live: dict[str, Any] = {}
    pending = as_completed(with_results=False)

    def submit_next() -> bool:
        i = next(queue, None)
        if i is None:
            return False
        payload = load(chunks[i]) if load is not None else chunks[i]
        with warnings.catch_warnings():
            # The chunk's data travel inside its task on purpose: the scheduler keeps them until the task is done,
            # so a task whose worker dies is re-run elsewhere (scattered data would die with the worker). Only
            # ~2 tasks per worker thread are in flight, which bounds what the scheduler holds.
            warnings.filterwarnings("ignore", message=r"(?s).*[Ll]arge (graph|object)", category=UserWarning)
            # pure=False plus a unique key: every chunk is its own task even when two payloads are equal
            fut = client.submit(func, *lead, payload, key=f"{key}-{i:06d}-{token}", pure=False)
        index_of[fut.key] = i
        live[fut.key] = fut
        pending.add(fut)
        return True

    for _ in range(window):
        if not submit_next():
            break

    def completions() -> Iterator[Any]:
        for fut in pending:
            yield fut
            submit_next()

    try:
        for fut in progress(completions(), total=len(todo), desc=desc):
            i = index_of.pop(fut.key)
            live.pop(fut.key, None)
            if fut.status == "finished":
                finished(i, fut.result())
            else:
                failed(i, fut.exception())
            fut.release()
    except BaseException:
        with contextlib.suppress(Exception):
            client.cancel([*live.values(), *lead])
        raise
    for fut in lead:
        fut.release()


def _identity(x: T) -> T:
    return x


@contextlib.contextmanager
def use_scheduler(address: str | None, *, echo: Callable[[str], Any] | None = None) -> Iterator[Any]:
    """Run the enclosed tmescope calls on a dask cluster; yields the ``Client`` (``None``: in-process).

    Parameters
    ----------
    address
        ``None`` or ``""``: in-process. ``"local:N"``: start a local cluster of N single-threaded worker processes
        for the block. Anything else: the address of a running scheduler (``tcp://host:8786``), e.g. one started by
        dask-jobqueue on SLURM or by the dask Kubernetes operator.
    echo
        Called with a one-line message giving the dashboard address (e.g. ``click.echo``).

    Examples
    --------
    >>> with use_scheduler(None) as client:
    ...     client is None
    True
    """
    if not address:
        yield None
        return
    from distributed import Client, LocalCluster

    cluster = None
    if address.startswith("local:"):
        n = address.removeprefix("local:")
        if not n.isdigit() or int(n) < 1:
            msg = f"--scheduler local:N needs a positive number of workers, e.g. local:4; received {address!r}."
            raise InputError(msg)
        cluster = LocalCluster(n_workers=int(n), threads_per_worker=1, processes=True, dashboard_address=":0")
        client = Client(cluster)
    else:
        try:
            client = Client(address, timeout="20s")
        except OSError as exc:
            msg = (
                f"Could not reach the dask scheduler at {address!r} ({exc}). Check the address (tcp://host:8786) and "
                "that the scheduler is running, or use --scheduler local:N for a cluster on this machine."
            )
            raise InputError(msg) from exc
    previous = settings.client
    settings.client = client
    try:
        if echo is not None:
            n_workers = len(client.scheduler_info().get("workers", {}))
            echo(f"Dask cluster: {n_workers} worker(s); dashboard {client.dashboard_link}")
        yield client
    finally:
        settings.client = previous
        client.close()
        if cluster is not None:
            cluster.close()

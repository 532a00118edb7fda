"""Dashboard benchmarks: `make bench-dashboard` -> bench/results/dashboard.json.

- ``index_events_per_s_sqlite`` / ``_postgresql``: events indexed per second from anvil into
  each database (the indexer's own measurement, `indexer_speed.measure_indexing`);
  ``index_events_per_s`` is the SQLite figure, the default store. PostgreSQL is a
  throwaway local server (`jouleledger_indexer.pgserver`), left out where it is not
  installed; the page figures are measured on it too (suffix ``_postgresql``).
- ``account_page_p95_ms`` / ``provider_page_p95_ms`` (and p50): the HTML pages
  ``/accounts/{address}`` and ``/providers/{address}`` of random accounts and providers, with
  `JOBS` jobs in the index, under `CONCURRENCY` clients that each send their next request as
  soon as the last one answers. The server runs in its own process (one uvicorn worker), the
  clients in this one, both on the same two cores; the live chain values come from a real
  anvil with the protocol deployed. The same pages are measured again with the server in
  two worker processes (`jl dashboard --workers 2`, one per core; suffix ``_workers2``).
  ``*_server_cpu_ms`` is the server processes' CPU time per request, which other load on
  the machine does not inflate; ``load_avg_1m`` is the machine's load average when the
  pages were measured (other sessions share the cores).
  The jobs' rows are written straight into the index (`dashboard_seed`), not indexed from
  chain: see there why.
- Caches: the server keeps what it read from the index per indexed block (and the chain
  values per node block), as it does for real visitors. The index does not move during the
  run, so a page is computed once and then served from memory until the process ends. An
  account page is a random one of `CLIENTS` (400 views: about nine in ten computed afresh);
  ``provider_page_cold_*`` is each of the `PROVIDERS` provider pages viewed once, first
  (every view computed), and ``provider_page_*`` the 400 random views after it (served from
  the cache: what twenty visitors of a hundred providers cost between two blocks).
- The clients are `http.client` connections kept alive, opened before the clock starts:
  with httpx the load generator itself took 2.7 ms of CPU per request on the two cores the
  server needs (more than half of what the server spends on an account page).
"""

from __future__ import annotations

import http.client
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from dashboard_seed import Seeded, seed
from indexer_speed import measure_indexing
from report import write_results

from jouleledger import start_devnet
from jouleledger.client import JouleLedger
from jouleledger.deployment import deploy_protocol, load_deployment, save_deployment
from jouleledger_indexer import Database
from jouleledger_indexer.pgserver import available, create_database, local_postgres

ROOT = Path(__file__).resolve().parents[1]
JOBS = 100_000
CLIENTS = 2_000
PROVIDERS = 100
CONCURRENCY = 20
REQUESTS = 400  # per page kind
PORT = 8611


def serve(
    rpc: str, deployments: str, chain_id: str, database: str, port: str, workers: str
) -> None:
    """The server process: the dashboard over `database`, without indexing, until SIGTERM;
    prints ``ready`` once every worker accepts connections.

    Args:
        rpc: the anvil's URL.
        deployments: the deployments file.
        chain_id: the chain's id.
        database: the seeded index.
        port: the port to serve on.
        workers: 1 (a thread of this process, as `jl dashboard`) or more (`--workers`).
    """
    from jouleledger.transport import connect
    from jouleledger_dashboard.server import ServerThread, open_dashboard
    from jouleledger_dashboard.workers import ServerProcesses, Source

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    deployment = load_deployment(Path(deployments), int(chain_id))
    opened = open_dashboard(connect(rpc), deployment, database, index=False)
    server: ServerThread | ServerProcesses = (
        ServerThread(opened.app, port=int(port))
        if int(workers) == 1
        else ServerProcesses(Source(rpc, deployment, database), int(workers), port=int(port))
    )
    with server:
        print("ready", flush=True)
        stop.wait()
    opened.dispose()


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds used by `pid` and the processes it started that still run (Linux /proc).

    Args:
        pid: the process.
    """
    used = cpu_seconds(pid)
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        used += sum(tree_cpu_seconds(int(child)) for child in task.read_text().split())
    return used


def wait_ready(server: subprocess.Popen[str], timeout: float = 120.0) -> None:
    """Wait until the server process says every worker accepts connections.

    Args:
        server: the `serve` process, its stdout a pipe.
        timeout: seconds.

    Raises:
        TimeoutError: it did not say so in time.
    """
    out = server.stdout
    assert out is not None
    said: list[str] = []
    reader = threading.Thread(target=lambda: said.append(out.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    if not said or said[0].strip() != "ready":
        stopped = server.poll()
        why = f"it exited with {stopped}" if stopped is not None else f"{timeout:.0f} s passed"
        raise TimeoutError(f"the dashboard did not start ({why}; its output is above)")


def load(url: str, paths: list[str]) -> list[float]:
    """Fetch `paths` with `CONCURRENCY` clients; the latency of each request in ms.

    Each client has one kept-alive connection, opened before any request is timed; all
    start together.

    Args:
        url: the server's base URL.
        paths: the pages to fetch, each once.

    Raises:
        RuntimeError: a page did not answer 200 with a whole HTML document.
    """
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    todo = iter(paths)
    where = urlsplit(url)
    connections = [
        http.client.HTTPConnection(where.hostname or "127.0.0.1", where.port, timeout=30)
        for _ in range(CONCURRENCY)
    ]
    start = threading.Barrier(CONCURRENCY)

    def client(conn: http.client.HTTPConnection) -> None:
        start.wait()
        with lock:
            path = next(todo, None)
        while path is not None and not failures:
            started = time.perf_counter()
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read()
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                if response.status != 200 or not body.rstrip().endswith(b"</html>"):
                    failures.append(f"{path}: HTTP {response.status}, {len(body)} bytes")
                latencies.append(elapsed)
                path = next(todo, None)
        conn.close()

    threads = [threading.Thread(target=client, args=(c,)) for c in connections]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise RuntimeError(failures[0])
    return latencies


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds the process `pid` has used (Linux /proc).

    Args:
        pid: the process.
    """
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def p95(values: list[float]) -> float:
    """The 95th percentile of `values`, rounded to 0.1.

    Args:
        values: latencies.
    """
    return round(statistics.quantiles(values, n=100)[94], 1)


def measure(pid: int, name: str, url: str, paths: list[str]) -> dict[str, float]:
    """Fetch `paths` under load: p95 and p50 latency, and the server's CPU per request.

    Args:
        pid: the server process.
        name: the figures' prefix (``account_page`` gives ``account_page_p95_ms``...).
        url: the server's base URL.
        paths: the pages.
    """
    used = tree_cpu_seconds(pid)
    latencies = load(url, paths)
    used = tree_cpu_seconds(pid) - used
    return {
        f"{name}_p95_ms": p95(latencies),
        f"{name}_p50_ms": round(statistics.median(latencies), 1),
        f"{name}_server_cpu_ms": round(used * 1000 / len(paths), 1),
    }


def measure_pages(database: str) -> dict[str, float]:
    """Seed `database` with `JOBS` jobs and time the account and provider pages.

    Args:
        database: an empty database's URL.
    """
    figures: dict[str, float] = {}
    with start_devnet("anvil", accounts=2) as net, tempfile.TemporaryDirectory() as tmp:
        deployment = deploy_protocol(net.w3, net.accounts[0])
        reader = JouleLedger(net.w3, deployment)
        deployments = Path(tmp) / "deployments.json"
        save_deployment(deployments, deployment)
        db = Database(database)
        db.upgrade()
        block = net.w3.eth.get_block("latest")
        addresses = {"token": deployment.token, "staking": deployment.staking,
                     "market": deployment.market, "vault": reader.vault.address}  # fmt: skip
        started = time.perf_counter()
        seeded = seed(db, jobs=JOBS, clients=CLIENTS, providers=PROVIDERS,
                      head=(int(block["number"]), int(block["timestamp"])),
                      chain_id=deployment.chain_id,
                      addresses={k: v.lower() for k, v in addresses.items()})  # fmt: skip
        figures["seed_s"] = round(time.perf_counter() - started, 1)
        db.dispose()
        for workers, suffix in ((1, ""), (2, "_workers2")):
            command = [sys.executable, __file__, "--serve", str(net.rpc_url), str(deployments),
                       str(deployment.chain_id), database, str(PORT), str(workers)]  # fmt: skip
            pages = serve_and_measure(command, seeded, random.Random(12))  # the same pages
            figures.update({f"{k}{suffix}": v for k, v in pages.items()})
    return figures


def serve_and_measure(command: list[str], seeded: Seeded, rng: random.Random) -> dict[str, float]:
    """Start the server `command` and time its pages.

    Args:
        command: the server process's command line.
        seeded: the accounts and providers in the index.
        rng: picks the pages.
    """
    figures: dict[str, float] = {}
    server = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{PORT}"
        wait_ready(server)
        accounts = [f"/accounts/{rng.choice(seeded.clients)}" for _ in range(REQUESTS)]
        cold = [f"/providers/{k}" for k in rng.sample(seeded.providers, PROVIDERS)]
        warm = [f"/providers/{rng.choice(seeded.providers)}" for _ in range(REQUESTS)]
        load(url, [f"/accounts/{k}" for k in rng.sample(seeded.clients, 40)])  # warm up
        runs = (("account_page", accounts), ("provider_page_cold", cold),
                ("provider_page", warm))  # fmt: skip
        for name, paths in runs:
            figures.update(measure(server.pid, name, url, paths))
        figures["load_avg_1m"] = round(os.getloadavg()[0], 2)
    finally:
        server.terminate()
        server.wait(30)
    return figures


def main() -> int:
    """Measure everything and write bench/results/dashboard.json."""
    figures: dict[str, float | int | str] = {"jobs": JOBS, "concurrency": CONCURRENCY}
    with tempfile.TemporaryDirectory() as tmp:
        indexed = measure_indexing(f"sqlite:///{tmp}/speed.sqlite")
        figures["index_events_per_s"] = indexed["index_events_per_s"]
        figures["index_events_per_s_sqlite"] = indexed["index_events_per_s"]
        figures.update(measure_pages(f"sqlite:///{tmp}/bench.sqlite"))
    if available():
        with local_postgres() as server:
            indexed = measure_indexing(create_database(server))
            figures["index_events_per_s_postgresql"] = indexed["index_events_per_s"]
            pages = measure_pages(create_database(server))
            figures.update({f"{k}_postgresql": v for k, v in pages.items()})
    else:
        print("PostgreSQL 15 is not installed: its figures are left out")
    write_results("dashboard", figures)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(*sys.argv[2:8])
    else:
        sys.exit(main())

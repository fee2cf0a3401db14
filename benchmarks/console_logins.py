"""Memory and time of parallel console logins, by the number of Argon2 hashing slots.

Run: LISTINGS_HOME=/tmp/lp-bench PYTHONPATH=. python benchmarks/console_logins.py [--runs 3]
Serves `listings-pipeline console` as its own process for each LISTINGS_PASSWORD_HASH_SLOTS
value, sends 20 logins at once (20 users, correct passwords), samples the process's RSS every
2 ms, and prints the median peak growth over the RSS after one warm-up login, and the median
time until all 20 are answered. Each Argon2 hash takes 64 MiB while it runs.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
from sqlalchemy import text

from listings_pipeline.console import add_user
from listings_pipeline.db import database_url, get_engine
from listings_pipeline.db.migrate import upgrade
from listings_pipeline_tests.console_server import rss_bytes, served_in_subprocess

PASSWORD = "benchmark password"
USERS = 20


def one_run(base: str, pid: int) -> tuple[float, float]:
    def form() -> tuple[httpx.Client, str]:
        client = httpx.Client(base_url=base, follow_redirects=False, timeout=120)
        page = client.get("/login").text
        return client, page.split('name="csrf_token" value="')[1].split('"')[0]

    warm, token = form()
    data = {"username": "bench0", "password": PASSWORD, "csrf_token": token}
    assert warm.post("/login", data=data).status_code == 303
    clients = [form() for _ in range(USERS)]
    time.sleep(0.5)
    baseline = peak = rss_bytes(pid)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_bytes(pid))
            time.sleep(0.002)

    barrier = threading.Barrier(USERS)
    statuses: list[int] = []

    def log_in(i: int) -> None:
        client, csrf = clients[i]
        barrier.wait()
        form_data = {"username": f"bench{i}", "password": PASSWORD, "csrf_token": csrf}
        statuses.append(client.post("/login", data=form_data).status_code)

    sampler = threading.Thread(target=sample)
    sampler.start()
    threads = [threading.Thread(target=log_in, args=(i,)) for i in range(USERS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    assert statuses == [303] * USERS, statuses
    return (peak - baseline) / 2**20, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--slots", type=int, nargs="+", default=[1, 2, 4, 20])
    args = parser.parse_args()
    engine = get_engine()
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM auth.users WHERE username LIKE 'bench%'"))
    for i in range(USERS):
        add_user(engine, f"bench{i}", PASSWORD)
    config_dir = Path(tempfile.mkdtemp(prefix="lp-bench-configs-"))
    print(f"{USERS} parallel logins; median of {args.runs} runs")
    print("slots  RSS growth (MB)  all answered (s)")
    for slots in args.slots:
        growths, times = [], []
        env = {
            "LISTINGS_PASSWORD_HASH_SLOTS": str(slots),
            "LISTINGS_PASSWORD_HASH_WAIT_SECONDS": "300",  # all 20 are answered, however slow
        }
        for _ in range(args.runs):
            with engine.begin() as conn:
                conn.execute(text("TRUNCATE auth.login_throttle"))
            with served_in_subprocess(database_url(), config_dir, **env) as (base, process):
                growth, elapsed = one_run(base, process.pid)
            growths.append(growth)
            times.append(elapsed)
        print(f"{slots:>5}  {statistics.median(growths):>15.0f}  {statistics.median(times):>16.2f}")


if __name__ == "__main__":
    main()

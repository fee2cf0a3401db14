"""What submitting a run through the Dagster instance costs the CLI, against executing the same
job in the CLI's own process (what `listings-pipeline run` did before).

    python benchmarks/cli_overhead.py [--records 200] [--runs 3]

One prepared LISTINGS_HOME (embedded PostgreSQL started and migrated, Dagster's database
created, one run done to warm caches), then alternately:

* instance: `listings-pipeline run SLUG --input FILE --json` (no daemon: the CLI dequeues and
  launches its own run through the run launcher: a `dagster job launch` process, its code
  server, a run worker);
* in-process: a fresh Python process that imports the definitions and calls
  `execute_in_process` on the same job, partition and input (the old path).

Each re-imports the same file (a new job; rows unchanged after the first). Prints each timing,
the medians and their ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from listings_pipeline_tests.helpers import csv_config, place, write_csv  # noqa: E402

SLUG = "bench-csv"
IN_PROCESS = """
import sys, warnings
import dagster as dg
from listings_pipeline.definitions import defs
from listings_pipeline.orchestration.instance import get_instance
from listings_pipeline.orchestration.run_config import import_run_config
warnings.simplefilter("ignore")
instance = get_instance()
result = defs.resolve_job_def("listings_pipeline").execute_in_process(
    instance=instance, partition_key=sys.argv[1],
    run_config=import_run_config(input_path=sys.argv[2]), raise_on_error=False,
)
sys.exit(0 if result.success else 1)
"""


def timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{command[:4]} failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="lpbench-"))
    configs = home / "configs"
    configs.mkdir()
    (configs / f"{SLUG}.yaml").write_text(yaml.safe_dump(csv_config(SLUG).to_json()))
    data = write_csv(home / "data.csv", [place(i) for i in range(1, args.records + 1)])
    env = {**os.environ, "LISTINGS_HOME": str(home / "state"), "LISTINGS_CONFIG_DIR": str(configs)}
    for name in ("DAGSTER_HOME", "LISTINGS_DATABASE_URL", "LISTINGS_DAGSTER_DATABASE_URL"):
        env.pop(name, None)
    cli = [sys.executable, "-m", "listings_pipeline.cli", "run", SLUG, "--input", str(data),
           "--json"]  # fmt: skip
    in_process = [sys.executable, "-c", IN_PROCESS, SLUG, str(data)]
    try:
        print(f"warm-up run: {timed(cli, env):.1f} s (server start, migrations, Dagster schema)")
        results: dict[str, list[float]] = {"instance": [], "in-process": []}
        for i in range(args.runs):
            for name, command in (("instance", cli), ("in-process", in_process)):
                results[name].append(seconds := timed(command, env))
                print(f"run {i + 1} {name:<10} {seconds:6.1f} s")
        a, b = (statistics.median(results[k]) for k in ("instance", "in-process"))
        print(f"median: through the instance {a:.1f} s, in-process {b:.1f} s, "
              f"ratio {a / b:.2f}, overhead {a - b:+.1f} s ({args.records} records)")  # fmt: skip
    finally:
        subprocess.run([sys.executable, "-m", "listings_pipeline.cli", "db", "stop"], env=env,
                       capture_output=True)  # fmt: skip


if __name__ == "__main__":
    main()

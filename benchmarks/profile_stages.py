"""Where the pipeline's Python time goes: `python benchmarks/profile_stages.py [--size 10000]
[--parts first] [--top 25]`.

Runs `benchmarks/run.py` for one size and run under py-spy (all worker processes, sampled
from outside, so the code runs unmodified) and prints, per benchmark stage worker, the
functions with the most samples: "self" is time in the function's own code (what to make
faster), "total" is time with everything it calls (which step is slow). Wait time (sockets,
PostgreSQL doing the work) is excluded unless `--idle` is given. `--raw FILE` keeps py-spy's
collapsed stacks (for flamegraph.pl or speedscope). Needs `pip install -e ".[bench]"`.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# py-spy frames look like `function (path/to/file.py:123)`; the line number is dropped so a
# function's samples add up across its lines.
FRAME = re.compile(r"^(?P<func>.+?) \((?P<file>[^()]*?)(?::\d+)?\)$")
# py-spy roots each subprocess's stacks at a `process PID:"command line"` frame under its
# parent's; a stage worker's command line holds its spec (threads included).
WORKER = re.compile(r'^process \d+:.*--worker \{"stage": "(?P<stage>\w+)"')


def _short(frame: str) -> str:
    match = FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    path = match["file"]
    for marker in ("site-packages/", "listings_pipeline/", "lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            if marker == "listings_pipeline/":
                path = "listings_pipeline/" + path
            break
    return f"{match['func']} ({path})"


def summarize(raw: Path, top: int, rate: int) -> str:
    """Per stage, the top functions by self and total samples; "other" is the benchmark's own
    work (starting PostgreSQL, generating data)."""
    self_time: dict[str, Counter[str]] = defaultdict(Counter)
    total_time: dict[str, Counter[str]] = defaultdict(Counter)
    samples: Counter[str] = Counter()
    for line in raw.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        label = next((m["stage"] for f in stack.split(";") if (m := WORKER.match(f))), "other")
        frames = [f for f in stack.split(";") if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        samples[label] += count
        self_time[label][_short(frames[-1])] += count
        for name in {_short(f) for f in frames}:
            total_time[label][name] += count
    out: list[str] = []
    for label, n in samples.most_common():
        out.append(f"\n== {label}: {n} samples ({n / rate:.1f} s)")
        out.append("  self  total  function")
        ranked = [name for name, _ in self_time[label].most_common(top)]
        for name in ranked:
            out.append(
                f"{100 * self_time[label][name] / n:5.1f}% "
                f"{100 * total_time[label][name] / n:5.1f}%  {name}"
            )
        out.append("  -- listings_pipeline functions by total:")
        ours = [
            (name, c) for name, c in total_time[label].most_common() if "listings_pipeline/" in name
        ]
        for name, count in ours[:top]:
            out.append(f"       {100 * count / n:5.1f}%  {name}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--parts", default="first")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--rate", type=int, default=50, help="samples per second")
    parser.add_argument("--idle", action="store_true", help="count waiting threads too")
    parser.add_argument("--raw", type=Path, help="keep py-spy's collapsed stacks here")
    args = parser.parse_args(argv)
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(py_spy).exists():
        sys.exit('py-spy is not installed: pip install -e ".[bench]"')
    with tempfile.TemporaryDirectory() as tmp:
        raw = args.raw or Path(tmp) / "profile.txt"
        command = [py_spy, "record", "--subprocesses", "--format", "raw", "--rate",
                   str(args.rate), "-o", str(raw)]  # fmt: skip
        if args.idle:
            command.append("--idle")
        command += ["--", sys.executable, str(ROOT / "benchmarks" / "run.py"),
                    "--sizes", str(args.size), "--runs", "1", "--parts", args.parts]  # fmt: skip
        subprocess.run(command, check=True, stdout=sys.stderr)
        print(summarize(raw, args.top, args.rate))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

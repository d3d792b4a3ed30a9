"""What a check costs at real sizes next to toy sizes: issue 16's "Done when" list.

For each kernel, the fixture it is based on is written into a temporary folder
twice, once with the case line of a small size and once with the real size, and
`stile-static check --no-cache` runs on each as a subprocess, with a wall-clock
limit and a resident-memory limit (a run past either is stopped and shows as
`> 120 s` or `> 4096 MiB`). The table gives both times and peak memories, their
ratio, and whether each verdict is the expected one.

Usage: .venv/bin/python tools/bench_sizes.py [--only NAME ...] [--timeout 120]
       [--memory 4096] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures" / "triton"

# The autotune list of Triton's tutorial 03 (its CUDA configs), in the tutorial's order.
TUTORIAL_MATMUL_CONFIGS = [
    (128, 256, 64, 8, 3, 8),
    (64, 256, 32, 8, 4, 4),
    (128, 128, 32, 8, 4, 4),
    (128, 64, 32, 8, 4, 4),
    (64, 128, 32, 8, 4, 4),
    (128, 32, 32, 8, 4, 4),
    (64, 32, 32, 8, 5, 2),
    (32, 64, 32, 8, 5, 2),
]


@dataclass(frozen=True)
class Row:
    name: str
    fixture: str  # file under fixtures/triton the kernel is taken from
    small: str  # the case line's assignments at the small size
    real: str  # ... and at the real size
    expect_small: str  # "verified" or the codes expected
    expect_real: str
    edit: Callable[[str], str] = lambda text: text  # changes to the fixture besides the case


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_mib: float
    verdict: str  # "verified", the codes reported, "> 120 s", "> 4096 MiB" or "exit N"
    stopped: bool  # past the time or memory limit


def _tutorial_configs(text: str) -> str:
    """The fixture's three configs replaced by the tutorial's eight."""
    configs = "".join(
        "        triton.Config(\n"
        f'            {{"BLOCK_SIZE_M": {m}, "BLOCK_SIZE_N": {n}, "BLOCK_SIZE_K": {k}, '
        f'"GROUP_SIZE_M": {g}}},\n'
        f"            num_stages={s},\n"
        f"            num_warps={w},\n"
        "        ),\n"
        for m, n, k, g, s, w in TUTORIAL_MATMUL_CONFIGS
    )
    new, count = re.subn(
        r"(def get_autotune_config\(\):\n    return \[\n).*?(\n    \]\n)",
        lambda match: match.group(1) + configs.rstrip("\n") + match.group(2),
        text,
        flags=re.DOTALL,
    )
    if count != 1:
        raise SystemExit("matmul.py: its get_autotune_config() list was not found")
    return new


ROWS = [
    Row(
        "matmul",
        "matmul.py",
        "M=64 N=64 K=64",
        "M=4096 N=4096 K=4096",
        "verified",
        "verified",
        _tutorial_configs,
    ),
    # the K loop alone, one program per block of C: its cost at a long K (induction)
    Row(
        "matmul_k_loop",
        "matmul_k_induction.py",
        "M=32 N=32 K=64",
        "M=32 N=32 K=4096",
        "verified",
        "verified",
    ),
    Row(
        "flash_attn_fwd",
        "flash_attn_fwd.py",
        "Z=1 H=1 Nq=64 Nk=64 D=64",
        "Z=4 H=16 Nq=4096 Nk=4096 D=64",
        "verified",
        "verified",
    ),
    Row("softmax", "softmax.py", "M=16 N=1024", "M=65536 N=1024", "verified", "verified"),
    Row(
        "layer_norm",
        "layer_norm_tutorial.py",
        "M=4 N=4096 normalized_shape=(4096,)",
        "M=65536 N=4096 normalized_shape=(4096,)",
        "verified",
        "verified",
    ),
    Row("vector_add", "vector_add_tutorial.py", "N=1000", f"N={2**30}", "verified", "verified"),
    Row(
        "vector_add_overflow",
        "vector_add_tutorial.py",
        "N=1000",
        f"N={2**31 + 1024}",
        "verified",
        "STL046",
    ),
]


def with_case(text: str, case: str) -> str:
    """The fixture with its case lines replaced by the one case ``case``."""
    lines = text.splitlines(keepends=True)
    cases = [i for i, line in enumerate(lines) if line.startswith("# stile: case ")]
    if not cases:
        raise SystemExit("fixture without a `# stile: case` line")
    kept = [line for i, line in enumerate(lines) if i not in cases[1:]]
    kept[cases[0]] = f"# stile: case {case}\n"
    return "".join(kept)


def _rss_mib(pid: int) -> float:
    """Resident memory of ``pid`` now (0 once it has gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, flags=re.MULTILINE)
    return int(match.group(1)) / 1024 if match else 0.0


def _wait(pid: int, start: float, timeout: float, memory_mib: float):
    """Wait for the check ``pid``, killing its process group past either limit: its exit
    status, its resource usage, and which limit stopped it ("" for none)."""
    stopped = ""
    done, status, usage = os.wait4(pid, os.WNOHANG)
    while done == 0:
        if time.perf_counter() - start > timeout:
            stopped = f"> {timeout:g} s"
        elif _rss_mib(pid) > memory_mib:
            stopped = f"> {memory_mib:g} MiB"
        if stopped:
            os.killpg(pid, signal.SIGKILL)
            done, status, usage = os.wait4(pid, 0)
            break
        time.sleep(0.05)
        done, status, usage = os.wait4(pid, os.WNOHANG)
    return status, usage, stopped


def check(path: Path, timeout: float, memory_mib: float) -> Run:
    """One `stile-static check --no-cache` of ``path``, stopped past either limit."""
    command = [sys.executable, "-m", "stile_static", "check", "--no-cache", "--format", "json"]
    with tempfile.TemporaryFile("w+") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [*command, str(path)], stdout=out, stderr=subprocess.DEVNULL, start_new_session=True
        )
        # wait4 (not Popen.poll, which would reap the child first) gives this child's own
        # peak resident memory (ru_maxrss, KiB on Linux)
        try:
            status, usage, stopped = _wait(proc.pid, start, timeout, memory_mib)
        except BaseException:  # interrupted: the check must not outlive the benchmark
            os.killpg(proc.pid, signal.SIGKILL)
            os.wait4(proc.pid, 0)
            raise
        elapsed = time.perf_counter() - start
        returncode = os.waitstatus_to_exitcode(status)
        proc.returncode = returncode  # reaped here: Popen must not wait for it again
        peak = usage.ru_maxrss / 1024
        if stopped:
            return Run(elapsed, peak, stopped, True)
        out.seek(0)
        body = out.read()
    try:
        diagnostics = json.loads(body or "[]")
    except json.JSONDecodeError:
        return Run(elapsed, peak, f"exit {returncode}", False)
    codes = sorted({d["code"] for d in diagnostics if d["severity"] in ("error", "warning")})
    verdict = ", ".join(codes) or ("verified" if proc.returncode == 0 else f"exit {returncode}")
    return Run(elapsed, peak, verdict, False)


def _time(run: Run) -> str:
    return run.verdict if run.stopped and run.verdict.endswith(" s") else f"{run.seconds:.2f}"


def _memory(run: Run) -> str:
    return run.verdict if run.stopped and run.verdict.endswith("MiB") else f"{run.peak_mib:.0f}"


def _ratio(small: Run, real: Run) -> str:
    """Real time over small time; the issue's budget is 2.5 times plus half a second."""
    ratio = real.seconds / small.seconds
    text = f"> {ratio:.1f}" if real.stopped else f"{ratio:.1f}"
    within = not real.stopped and real.seconds <= 2.5 * small.seconds + 0.5
    return f"{text} ({'within' if within else 'over'})"


def _verdict(small: Run, real: Run, row: Row) -> str:
    if small.verdict == row.expect_small and real.verdict == row.expect_real:
        return f"yes ({real.verdict})"
    return f"no: {small.verdict} / {real.verdict}, expected {row.expect_small} / {row.expect_real}"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    names = [row.name for row in ROWS]
    parser.add_argument("--only", nargs="+", choices=names, metavar="NAME", help=", ".join(names))
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per run (120)")
    parser.add_argument("--memory", type=float, default=4096.0, help="resident MiB per run (4096)")
    parser.add_argument("--keep", type=Path, help="write the kernels here, not a temporary folder")
    args = parser.parse_args(argv)
    # a plain `kill` of the benchmark stops the check it is waiting for too
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    rows = [row for row in ROWS if not args.only or row.name in args.only]
    options = f" --timeout {args.timeout:g}" if args.timeout != 120 else ""
    options += f" --memory {args.memory:g}" if args.memory != 4096 else ""
    print(f"Command: python tools/bench_sizes.py{options}")
    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, "
        f"{platform.python_implementation()} {platform.python_version()}; "
        "whole `stile-static check --no-cache` process, one run each\n"
    )
    print(
        "| kernel | small size | time (s) | peak MiB | real size | time (s) | peak MiB "
        "| ratio (budget 2.5x + 0.5 s) | verdicts as expected | command |"
    )
    print("|---|---|---:|---:|---|---:|---:|---|---|---|")
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        for row in rows:
            text = row.edit((FIXTURES / row.fixture).read_text())
            runs = []
            for size, case in (("small", row.small), ("real", row.real)):
                path = folder / f"{row.name}_{size}.py"
                path.write_text(with_case(text, case))
                runs.append(check(path, args.timeout, args.memory))
            small, real = runs
            print(
                f"| {row.name} | {row.small} | {_time(small)} | {_memory(small)} "
                f"| {row.real} | {_time(real)} | {_memory(real)} | {_ratio(small, real)} "
                f"| {_verdict(small, real, row)} "
                f"| `python tools/bench_sizes.py --only {row.name}{options}` |",
                flush=True,
            )


if __name__ == "__main__":
    main()

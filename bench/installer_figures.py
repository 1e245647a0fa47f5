"""The installer's figures, all measured in this run:

  * bundle size                                        (goal <= 400 MiB)
  * the .deb's size, xz                                (goal <= 110 MiB)
  * bundle build time, `installer/build bundle`        (goal <= 2 min on 2 cores)
  * the .deb and the per-user .run built from it (their own times)
  * the oldest glibc the bundle runs on
  * start to a visible window, on a virtual screen:    (goals: warm <= 3 s, cold <= 4 s)
      warm: the bundle started again (files in the OS cache), median of 5
      cold: after dropping the OS file cache (needs root), median of 3
      reference: the same app from the project's environment (.venv), warm, median of 5

    python bench/installer_figures.py [--dist DIR] [--bundle DIR]

--dist: where artifacts go (default: a new temporary folder; CI keeps it for installer/tests).
--bundle: a bundle already built (skips the build and its time). Start times need Xvfb and
xdotool; without them they are said to be missing.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "installer"))
GOALS = {"bundle_mib": 400, "deb_mib": 110, "bundle_build_s": 120, "warm_start_s": 3.0, "cold_start_s": 4.0}


def timed(cmd, env) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def folder_mib(folder: Path) -> float:
    return sum(p.lstat().st_size for p in folder.rglob("*")) / 2**20


class Screen:
    """A virtual screen (Xvfb) to start the app on, and a way to see its window appear."""

    def __init__(self):
        self.display = f":{90 + os.getpid() % 9}"
        # -noreset: without it the X server resets when its last client leaves, and a start in that
        # moment fails with "could not connect to display" (Qt then aborts: exit -6).
        self.proc = subprocess.Popen(["Xvfb", self.display, "-screen", "0", "1280x800x24", "-nolisten", "tcp", "-noreset"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)

    def start_to_window(self, program: list[str], home: Path, timeout=60.0) -> float:
        """Seconds from starting ``program`` to its window being mapped on the screen."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "QT_QPA", "DESKML_HOME"))}
        env.update(DISPLAY=self.display, HOME=str(home), DESKML_HOME=str(home / "deskml"))
        t0 = time.perf_counter()
        app = subprocess.Popen(program, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
        try:
            while time.perf_counter() - t0 < timeout:
                found = subprocess.run(["xdotool", "search", "--onlyvisible", "--pid", str(app.pid),
                                        "--name", "DeskML"], env=env, capture_output=True, text=True)
                if found.stdout.strip():
                    return time.perf_counter() - t0
                if app.poll() is not None:
                    raise RuntimeError(f"{program[0]} ended (exit {app.returncode}) before its window showed")
                time.sleep(0.02)
            raise RuntimeError(f"no window of {program[0]} within {timeout:.0f} s")
        finally:
            if app.poll() is None:
                os.killpg(app.pid, signal.SIGKILL)
            app.wait()

    def close(self):
        self.proc.terminate()
        self.proc.wait()


def drop_os_cache() -> bool:
    try:
        subprocess.run(["sync"], check=True)
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def start_times(bundle: Path, work: Path) -> dict:
    if not (shutil.which("Xvfb") and shutil.which("xdotool")):
        return {"start": "not measured: needs Xvfb and xdotool"}
    screen = Screen()
    try:
        home = work / "home"
        home.mkdir()
        program = [str(bundle / "deskml")]
        first = screen.start_to_window(program, home)  # a new user: font cache and settings made
        warm = [screen.start_to_window(program, home) for _ in range(5)]
        cold = []
        for _ in range(3):
            if not drop_os_cache():
                break
            cold.append(screen.start_to_window(program, home))
        ref = [screen.start_to_window([str(ROOT / ".venv" / "bin" / "deskml")], home) for _ in range(5)]
    finally:
        screen.close()
    out = {"first_start_s": round(first, 2), "warm_start_s": round(statistics.median(warm), 2),
           "warm_runs_s": [round(t, 2) for t in warm], "venv_warm_start_s": round(statistics.median(ref), 2)}
    out["warm_vs_venv"] = round(out["warm_start_s"] / out["venv_warm_start_s"], 2)
    if cold:
        out["cold_start_s"] = round(statistics.median(cold), 2)
        out["cold_runs_s"] = [round(t, 2) for t in cold]
    else:
        out["cold_start_s"] = "not measured: dropping the OS file cache needs root"
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dist", type=Path)
    ap.add_argument("--bundle", type=Path)
    ap.add_argument("--no-start", action="store_true", help="build and measure sizes; the start comes later")
    ap.add_argument("--start-only", action="store_true",
                    help="the start times of DIST/deskml only, added to DIST/installer-figures.json")
    args = ap.parse_args()
    dist = args.dist or Path(tempfile.mkdtemp(prefix="deskml-installer-"))
    dist.mkdir(parents=True, exist_ok=True)
    if args.start_only:
        # CI measures the start after the installed-.deb check: on a fresh machine Qt's system
        # libraries arrive with the .deb's Depends (preinstalled, they would leave that check
        # nothing to prove)
        saved = dist / "installer-figures.json"
        figures = json.loads(saved.read_text()) if saved.exists() else {"dist": str(dist)}
        bundle = args.bundle or dist / "deskml"
    else:
        figures, bundle = build_all(dist, args.bundle)
    if not args.no_start:
        with tempfile.TemporaryDirectory(prefix="deskml-start-") as work:
            figures.update(start_times(bundle, Path(work)))
    for key, goal in GOALS.items():
        if isinstance(figures.get(key), (int, float)):
            figures[f"{key}_vs_goal"] = round(figures[key] / goal, 2)
    print(json.dumps(figures, indent=2))
    (dist / "installer-figures.json").write_text(json.dumps(figures, indent=2) + "\n")
    return 0


def build_all(dist: Path, bundle: Path | None) -> tuple[dict, Path]:
    """Build the bundle (unless given), the .deb and the per-user installer into ``dist``:
    their build times and sizes, and the glibc the bundle needs."""
    env = dict(os.environ, DESKML_DIST=str(dist))
    build = str(ROOT / "installer" / "build")
    figures = {"dist": str(dist)}
    if bundle is None:
        figures["bundle_build_s"] = round(timed([build, "bundle"], env), 1)
        bundle = dist / "deskml"
    figures["bundle_mib"] = round(folder_mib(bundle), 1)
    figures["deb_build_s"] = round(timed([build, "deb", "--bundle", str(bundle)], env), 1)
    (deb,) = dist.glob("deskml_*_amd64.deb")
    figures["deb_mib"] = round(deb.stat().st_size / 2**20, 1)
    figures["run_build_s"] = round(timed([build, "run", "--deb", str(deb)], env), 1)
    (run,) = dist.glob("deskml-*-linux.run")
    figures["run_mib"] = round(run.stat().st_size / 2**20, 1)
    from bundle import glibc_needed

    (major, minor), who = glibc_needed(bundle)
    figures["glibc_min"] = f"{major}.{minor}"
    figures["glibc_min_asked_by"] = str(who.relative_to(bundle)) if who else None
    return figures, bundle


if __name__ == "__main__":
    sys.exit(main())

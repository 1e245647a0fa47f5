"""How big and how quick a model image is, with the real engine.

Builds the demo model (Pipeline + ColumnTransformer + LogisticRegression) as
version 1, then a retrained model (new data, same libraries) as version 2, the
way a user ships an update; and version 1 once more with the recipe before the
lean environment (lean_venv.py), to compare. Figures:
  * image size minus the base image, lean and before       (goal <= 200 MB)
  * the same answers from both images on the 600 rows of reference data
    (predictions equal, probabilities within 1e-12)
  * first build of version 1, wheels in the host's cache   (the reference; the
    engine's layer cache as found, so on a fresh engine it is longer, ~30 s)
  * rebuild of the new version with the same libraries     (goal < 10 s), as a
    ratio to the first build in the same run
  * container start to healthy                             (goal < 3 s)

    python bench/build_figures.py          (needs a container engine)
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import joblib  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from deskml.core import demo, packaging  # noqa: E402
from deskml.core.client import score_csv  # noqa: E402
from deskml.core.runtimes import container as runtime  # noqa: E402
from deskml.core.runtimes.base import free_port  # noqa: E402
from deskml.core.runtimes.engine import connect, engine_arch  # noqa: E402
from deskml.core.intake.inspection import inspect_file  # noqa: E402
from deskml.core.registry import Registry  # noqa: E402

NAME = "bench build figures"


def main():
    work = Path(tempfile.mkdtemp(prefix="deskml-bench-build-"))
    os.environ.setdefault("DESKML_HOME", str(work / "home"))
    template = os.environ.get("DESKML_BASE_IMAGE", "deskml-base/python:{python}")
    client = connect()
    registry = Registry(work / "registry.sqlite3")
    first = demo.ensure_demo(work / "v1")
    second = work / "v2" / "coffee_shop_returning_customers.joblib"
    second.parent.mkdir()
    joblib.dump(demo.build_model(demo.make_data(n=900, seed=11)), second)  # retrained: new data, same libraries

    def timed_build(path, version):
        info = inspect_file(path)
        plan = packaging.plan_build(info, NAME, version, template, arch=engine_arch(client),
                                available_pythons=packaging.available_pythons(client, template))
        packaging.download_wheels(plan.requirements, plan.python, plan.platform_arch)  # fetched once per machine
        t = time.perf_counter()
        v = packaging.run_to_end(packaging.package(client, registry, info, NAME, version, template))
        return v, time.perf_counter() - t

    before = NAME + " before"
    try:
        v1, first_s = timed_build(first.model, "1")
        v2, rebuild_s = timed_build(second, "2")
        old = packaging.run_to_end(packaging.package(client, registry, inspect_file(first.model), before, "1",
                                                     template, lean=False))
        base = client.images.get(template.replace("{python}", v1.python))
        added_mb = (client.images.get(v1.tag).attrs["Size"] - base.attrs["Size"]) / 1e6
        before_mb = (client.images.get(old.tag).attrs["Size"] - base.attrs["Size"]) / 1e6
        t = time.perf_counter()
        runtime.run(client, registry, NAME, "2", default_port=free_port())
        start_s = time.perf_counter() - t
        starts = {}
        for name in (NAME, before):  # start to healthy, median of three, lean and before
            times = []
            for _ in range(3):
                runtime.stop(client, name)
                t = time.perf_counter()
                runtime.run(client, registry, name, "1", default_port=free_port())
                times.append(time.perf_counter() - t)
            starts[name] = sorted(times)[1]
        answers = {}
        for name, version in ((NAME, "1"), (before, "1")):
            running = runtime.run(client, registry, name, version, default_port=free_port())
            scored = work / f"{name}.csv"
            score_csv(running.url, first.reference, scored)
            answers[name] = pd.read_csv(scored)
        same_predictions = answers[NAME]["prediction"].equals(answers[before]["prediction"])
        proba = [c for c in answers[NAME].columns if c.startswith("probability_")]
        proba_diff = float(np.abs(answers[NAME][proba].to_numpy() - answers[before][proba].to_numpy()).max())
    finally:
        for name in (NAME, before):
            runtime.stop(client, name)
            for img in client.images.list(filters={"label": f"io.deskml.model.name={name}"}):
                client.images.remove(img.id, force=True)

    print(f"model: the demo (Pipeline + ColumnTransformer + LogisticRegression), scikit-learn "
          f"{v1.sklearn_version}, Python {v1.python}, base image {base.tags[0] if base.tags else template}")
    print(f"{'figure':<56}{'value':>10}  goal")
    print(f"{'image size minus the base image (MB), lean':<56}{added_mb:>10.0f}  <= 200")
    print(f"{'  before the lean environment (MB) [reference]':<56}{before_mb:>10.0f}")
    print(f"{'  as a ratio to before':<56}{added_mb / before_mb:>10.2f}")
    print(f"{'same predictions, lean and before (600 rows)':<56}{str(same_predictions):>10}  True")
    print(f"{'largest difference of a probability':<56}{proba_diff:>10.1e}  <= 1e-12")
    print(f"{'first build of version 1, wheels cached (s) [reference]':<56}{first_s:>10.1f}")
    print(f"{'rebuild, new version, same libraries (s)':<56}{rebuild_s:>10.1f}  < 10")
    print(f"{'  as a ratio to the first build':<56}{rebuild_s / first_s:>10.2f}")
    print(f"{'container start to healthy (s)':<56}{start_s:>10.2f}  < 3")
    print(f"{'  median of 3, lean (s)':<56}{starts[NAME]:>10.2f}")
    print(f"{'  median of 3, before (s) [reference]':<56}{starts[before]:>10.2f}")
    print(f"{'  as a ratio to before':<56}{starts[NAME] / starts[before]:>10.2f}")
    if not same_predictions or proba_diff > 1e-12:
        sys.exit("the lean image answers differently")


if __name__ == "__main__":
    main()

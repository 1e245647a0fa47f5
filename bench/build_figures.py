"""How big and how quick a model image is, with the real engine.

Builds the demo model (Pipeline + ColumnTransformer + LogisticRegression) as
version 1, then a retrained model (new data, same libraries) as version 2, the
way a user ships an update. Figures:
  * image size minus the base image                       (goal < 300 MB)
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

from deskml.core import demo, packaging
from deskml.core.runtimes import container as runtime  # noqa: E402
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

    try:
        v1, first_s = timed_build(first.model, "1")
        v2, rebuild_s = timed_build(second, "2")
        image = client.images.get(v1.tag)
        base = client.images.get(template.replace("{python}", v1.python))
        added_mb = (image.attrs["Size"] - base.attrs["Size"]) / 1e6
        t = time.perf_counter()
        runtime.run(client, registry, NAME, "2", default_port=runtime.free_port())
        start_s = time.perf_counter() - t
    finally:
        runtime.stop(client, NAME)
        for img in client.images.list(filters={"label": f"io.deskml.model.name={NAME}"}):
            client.images.remove(img.id, force=True)

    print(f"model: the demo (Pipeline + ColumnTransformer + LogisticRegression), scikit-learn "
          f"{v1.sklearn_version}, Python {v1.python}, base image {base.tags[0] if base.tags else template}")
    print(f"{'figure':<52}{'value':>10}  goal")
    print(f"{'image size minus the base image (MB)':<52}{added_mb:>10.0f}  < 300")
    print(f"{'first build of version 1, wheels cached (s) [reference]':<52}{first_s:>10.1f}")
    print(f"{'rebuild, new version, same libraries (s)':<52}{rebuild_s:>10.1f}  < 10")
    print(f"{'  as a ratio to the first build':<52}{rebuild_s / first_s:>10.2f}")
    print(f"{'container start to healthy (s)':<52}{start_s:>10.2f}  < 3")


if __name__ == "__main__":
    main()

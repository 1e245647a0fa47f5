"""What an image of a model needs: which Python, which library versions, and why.

``plan_build(info, name, version, base_template, arch)`` picks the newest Python
whose wheels exist for the scikit-learn the file was saved with (an old model
gets an older Python) and lists the top-level pins; ``BuildPlan`` carries it all
to the Dockerfile (``dockerfile.py``) and the build (``image.py``).
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

from ...server import contract
from ..errors import BuildFailed
from ..paths import slug

PYTHONS = ("3.13", "3.12", "3.11", "3.10", "3.9")
SERVER_REQUIREMENTS = ("httptools", "uvloop", "orjson")
IMAGE_REPO = "deskml"


@dataclass
class BuildPlan:
    """Everything an image build needs; ``dockerfile(plan)`` is its pure text."""
    name: str
    version: str
    model_path: str
    model_file: str            # the file name inside the image
    model_sha256: str
    sklearn_version: str
    python: str
    base_image: str
    requirements: list         # top-level pins given to pip, e.g. ["scikit-learn==1.9.1", ...]
    why: str                   # plain words: which Python and why
    code_files: list = field(default_factory=list)
    platform_arch: str = "x86_64"
    locked: list = field(default_factory=list)   # exact resolved versions, filled by download_wheels
    skops_types: list = field(default_factory=list)  # a .skops file: the only types its service trusts

    @property
    def tag(self) -> str:
        return f"{IMAGE_REPO}/{slug(self.name)}:{slug(self.version)}"

    def labels(self, created: str | None = None) -> dict:
        return {
            "org.opencontainers.image.title": self.name,
            "org.opencontainers.image.version": self.version,
            "org.opencontainers.image.created": created or datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "org.opencontainers.image.description": f"DeskML service for the model '{self.name}'",
            "org.opencontainers.image.vendor": "DeskML",
            contract.LABEL_MODEL: self.name,
            contract.LABEL_VERSION: self.version,
            contract.LABEL_SHA256: self.model_sha256,
            contract.LABEL_FILE: self.model_file,
            contract.LABEL_SKLEARN: self.sklearn_version,
            contract.LABEL_PYTHON: self.python,
            contract.LABEL_REQUIREMENTS: " ".join(self.locked or self.requirements),
            # the server listens where DESKML_HOST / DESKML_PORT say (host networking, Kubernetes)
            contract.LABEL_LISTEN: "env",
        }


# --------------------------------------------------------------------------
# which versions


def pins_for(info) -> list[str]:
    """The top-level requirements: the model's own library versions, plus what the server needs."""
    sk = info.sklearn_version or info.installed_sklearn_version
    reqs = [f"scikit-learn=={sk}", "joblib", "pandas", "numpy", "scipy"]
    imports = " ".join(info.imports)
    if "numpy._core" in imports:
        reqs[3] = "numpy>=2"          # saved with numpy 2: numpy 1 cannot read it
    elif _version_tuple(sk) < (1, 4, 2):
        reqs[3] = "numpy<2"           # wheels built against numpy 1
    if info.format == "skops":
        reqs.append("skops")
    # The library versions found on this computer fit the file only where this computer's
    # scikit-learn is the file's: otherwise pip picks the newest that fits the pinned scikit-learn.
    same = info.sklearn_version in (None, info.installed_sklearn_version)
    for lib, version in (info.libraries or {}).items():
        version = version if same else None
        lean = LEAN_DISTRIBUTIONS.get(lib)
        if lean and (version is None or _version_tuple(version) >= lean[1]):
            lib = lean[0]
        reqs.append(f"{lib}=={version}" if version else lib)
    return reqs + list(SERVER_REQUIREMENTS)


#: Distributions that install the same import package with less. XGBoost's full wheel carries
#: CUDA and needs nvidia-nccl (about 480 MB to download); its CPU build is 6 MB (from 2.1.1).
LEAN_DISTRIBUTIONS = {"xgboost": ("xgboost-cpu", (2, 1, 1))}


def _version_tuple(v: str) -> tuple:
    return tuple(int(p) for p in re.findall(r"\d+", v or "0")[:3])


def platform_args(python: str, arch: str) -> list[str]:
    tag = python.replace(".", "")
    plats = [f"manylinux2014_{arch}", f"manylinux_2_17_{arch}", f"manylinux_2_28_{arch}"]
    args = ["--only-binary=:all:", "--python-version", python, "--implementation", "cp", "--abi", f"cp{tag}"]
    for p in plats:
        args += ["--platform", p]
    return args


def _pip(args: list[str], timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
                          capture_output=True, text=True, timeout=timeout)


def resolve_python(sklearn_version: str, arch: str, candidates=PYTHONS, available=None) -> tuple[str, str]:
    """(python, why): the newest candidate Python with a scikit-learn wheel."""
    tried = []
    for py in candidates:
        if available is not None and py not in available:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            proc = _pip(["download", "--no-deps", "-q", "-d", tmp, *platform_args(py, arch),
                         f"scikit-learn=={sklearn_version}"], timeout=300)
        if proc.returncode == 0:
            why = (f"Python {py}: the newest Python with scikit-learn {sklearn_version} wheels"
                   + (f" (not {', '.join(tried)})" if tried else "")
                   + (f", among the base images available ({', '.join(available)})" if available else "") + ".")
            return py, why
        tried.append(py)
    raise BuildFailed(
        f"No Python version DeskML can use has scikit-learn {sklearn_version} ready to install.",
        "Check the internet connection (DeskML downloads the libraries once), or ask the model's author "
        "to save it with a newer scikit-learn.", details=f"tried Python {', '.join(tried) or 'none'}")


def plan_build(info, name: str, version: str, base_template: str, arch: str = "x86_64",
               available_pythons=None, code_files=()) -> BuildPlan:
    sk = info.sklearn_version or info.installed_sklearn_version
    python, why = resolve_python(sk, arch, available=available_pythons)
    plan = BuildPlan(
        name=name, version=version, model_path=info.path, model_file=slug(info.file_name) or "model.bin",
        model_sha256=info.sha256, sklearn_version=sk, python=python,
        base_image=base_template.replace("{python}", python),
        requirements=pins_for(info), why=why, code_files=[str(c) for c in code_files], platform_arch=arch,
        skops_types=list(info.skops_types or []))
    return plan


def available_pythons(client, template: str):
    """Pythons whose base image is on this machine; None when the template is
    pullable from a registry (then every Python is a candidate)."""
    from ..runtimes.engine import image_present
    from ..settings import DEFAULT_BASE_IMAGE

    present = [py for py in PYTHONS if image_present(client, template.replace("{python}", py))]
    if template == DEFAULT_BASE_IMAGE:
        return None
    if not present:
        raise BuildFailed(
            f"No base image matching '{template}' is on this computer.",
            "Build one (see .ci/base-image) or choose another base image in Settings.")
    return present


def plan_to_json(plan: BuildPlan) -> str:
    return json.dumps(asdict(plan), indent=2)

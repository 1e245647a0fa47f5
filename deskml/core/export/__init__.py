"""A version's very image, handed to the engines people already run: Kubernetes manifests,
a KServe InferenceService, a compose file for Compose or Swarm, a ``docker save`` archive,
and a push to the user's registry. Each export folder gets a page for the IT person."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

TARGETS = ("kubernetes", "kserve", "compose", "swarm", "image-tar")
JOURNALS = ("stdout", "volume")


@dataclass
class Exported:
    folder: Path
    files: list           # the paths written, the page last
    image: str
    footprint: object     # manifests.Footprint, or None for an archive


def export(settings, registry, model: str, version: str | None, to: str, folder, image: str | None = None,
           journal: str = "stdout", replicas: int | None = None, port: int | None = None,
           progress=lambda words: None) -> Exported:
    """Write the export ``to`` one of TARGETS into ``folder`` (made if missing)."""
    from ..errors import UsageError
    from ..paths import slug
    from . import guide, images, manifests, measure

    if to not in TARGETS:
        raise UsageError(f"DeskML cannot export to {to!r}.", f"Choose one of: {', '.join(TARGETS)}.")
    if journal not in JOURNALS:
        raise UsageError(f"The journal cannot go to {journal!r}.", "Choose stdout or volume.")
    if replicas is not None and not 1 <= replicas <= 100:
        raise UsageError(f"{replicas} replicas is not a number DeskML writes.", "Choose from 1 to 100.")
    v = registry.get(model, version or registry.live_version(model))
    folder = Path(folder).expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"The folder {folder} could not be made.", "Choose a folder you can write to.",
                         details=str(exc)) from None
    with _image_engine(settings, v) as client:
        spec = manifests.Spec(model=model, version=v.version, image=image or v.tag, sha256=v.model_sha256,
                              footprint=None, replicas=replicas or (3 if to == "swarm" else 2), journal=journal,
                              port=port or 8000)
        if to == "image-tar":
            spec.image = v.tag      # the archive holds the image under its name on this computer
            spec.footprint = manifests.Footprint(None, None, "")
            archive = folder / f"{spec.name}-{slug(v.version)}.tar"
            progress(f"Writing the image {v.tag} to {archive.name}…")
            images.save(client, v.tag, archive, lambda n: progress(f"{n / 2**20:,.0f} MiB written"))
            written = [archive]
        else:
            progress("Measuring the image's memory and CPU per prediction…")
            spec.footprint = measure.footprint(client, v.tag)
            docs = {"kubernetes": lambda: manifests.kubernetes(spec), "kserve": lambda: _kserve(spec),
                    "compose": lambda: manifests.compose(spec, swarm=False),
                    "swarm": lambda: manifests.compose(spec, swarm=True)}[to]()
            name = {"kubernetes": "kubernetes.yaml", "kserve": "kserve.yaml", "compose": "compose.yaml",
                    "swarm": "stack.yaml"}[to]
            written = [_write(folder / name, manifests.to_yaml(docs))]
    note = (f"The image is named `{spec.image}`." if image and to != "image-tar" else
            f"The image `{v.tag}` is on this computer only. Push it to your registry first (`deskml push "
            f"{model}:{v.version} REGISTRY/REPO:TAG`), then export again with `--image REGISTRY/REPO:TAG`, or load "
            "it on each machine from an image-tar export.")
    written.append(_write(folder / "README.md", guide.page(to, spec, [p.name for p in written], note)))
    registry.audit(model, "export", v.version, detail=f"{to} to {folder}")
    return Exported(folder, written, spec.image, spec.footprint if to != "image-tar" else None)


def push(settings, registry, model: str, version: str | None, ref: str, progress=lambda words: None) -> str:
    """Push a version's image to ``ref`` (REGISTRY/REPO[:TAG]); the digest."""
    from . import images

    v = registry.get(model, version or registry.live_version(model))
    with _image_engine(settings, v) as client:
        digest = images.push(client, v.tag, ref, progress)
    registry.audit(model, "push", v.version, detail=f"{ref} ({digest})")
    return digest


def _kserve(spec):
    from . import manifests

    docs = [manifests.kserve(spec)]
    if spec.journal == "volume":
        claim = next(d for d in manifests.kubernetes(spec) if d["kind"] == "PersistentVolumeClaim")
        docs.insert(0, claim)
    return docs


def _image_engine(settings, v):
    """The engine holding the version's image; a version without one is said in words."""
    from contextlib import contextmanager

    from .. import services
    from ..errors import UsageError

    @contextmanager
    def engine():
        if not v.tag:
            raise UsageError(f"Version {v.version} of {v.model} has no image: it runs as a local process here.",
                             "Build it again where Docker or Podman runs (deskml build), then export it.")
        with services.engine_for(settings, v) as client:
            if client is None:
                raise UsageError("No container engine answers, and the image lives in it.",
                                 "Start Docker or Podman, then try again.")
            if not _has(client, v.tag):
                raise UsageError(f"The image {v.tag} of version {v.version} is no longer in the container engine.",
                                 "Build the version again (deskml build), then export it.")
            yield client
    return engine()


def _has(client, tag: str) -> bool:
    from ..runtimes.engine import image_present

    return image_present(client, tag)


def _write(path: Path, text: str) -> Path:
    from ..paths import write_whole

    return write_whole(path, text.encode("utf-8"))

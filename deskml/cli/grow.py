"""``deskml export`` and ``deskml push``: a version's very image, handed to Kubernetes,
KServe, Compose or Swarm, or to the user's registry (``core.export``)."""
from __future__ import annotations

from ..core.errors import ExitCode


def add_parsers(sub) -> None:
    from ..core.export import JOURNALS, TARGETS

    ex = sub.add_parser("export", help="files to run a version on Kubernetes, KServe, Compose or Swarm, or its image "
                                       "as an archive",
                        description="Writes the files and a page for the IT person (README.md) into a folder. "
                                    "Resources come from measuring the image on this computer.")
    ex.add_argument("model", metavar="NAME[:VERSION]")
    ex.add_argument("--to", required=True, choices=TARGETS)
    ex.add_argument("-o", "--output", default=None, metavar="DIR",
                    help="the folder to write into (default: 'NAME-VERSION-TARGET' here)")
    ex.add_argument("--image", default=None, metavar="REGISTRY/REPO:TAG",
                    help="the image's name in your registry (after deskml push); default: its name on this computer")
    ex.add_argument("--journal", choices=JOURNALS, default="stdout",
                    help="where each replica journals its predictions: stdout (the cluster's log tools collect "
                         "it, the default) or volume (files on a shared volume)")
    ex.add_argument("--replicas", type=int, default=None, help="default: 2 (3 for swarm)")
    ex.add_argument("--port", type=int, default=None, help="the published port for compose and swarm (default 8000)")
    pu = sub.add_parser("push", help="push a version's image to your registry",
                        description="Tags the version's image as REGISTRY/REPO[:TAG] and pushes it. Log in first "
                                    "(docker login REGISTRY) if the registry asks for it.")
    pu.add_argument("model", metavar="NAME[:VERSION]")
    pu.add_argument("ref", metavar="REGISTRY/REPO[:TAG]")


def cmd_export(args) -> int:
    from pathlib import Path

    from ..core.export import export
    from ..core.paths import slug
    from .main import _say, _split_ref
    from .monitoring import _context, _known

    settings, registry = _context()
    name, version = _split_ref(args.model)
    _known(registry, name)
    v = registry.get(name, version or registry.live_version(name))
    folder = Path(args.output or f"{slug(name)}-{slug(v.version)}-{args.to}")
    done = export(settings, registry, name, v.version, args.to, folder, image=args.image, journal=args.journal,
                  replicas=args.replicas, port=args.port, progress=_say)
    print(f"{name}: version {v.version} exported for {args.to} into {done.folder}:")
    for path in done.files:
        print(f"  {path.name}")
    if done.footprint is not None:
        print(f"  ({done.footprint.how})")
    return ExitCode.OK


def cmd_push(args) -> int:
    from ..core.export import push
    from .main import _say, _split_ref
    from .monitoring import _context, _known

    settings, registry = _context()
    name, version = _split_ref(args.model)
    _known(registry, name)
    digest = push(settings, registry, name, version, args.ref, progress=_say)
    print(f"{name}: pushed to {args.ref} ({digest})")
    return ExitCode.OK


COMMANDS = {"export": cmd_export, "push": cmd_push}

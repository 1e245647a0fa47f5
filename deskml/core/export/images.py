"""A version's image out of this computer: a ``docker save`` archive for a machine without
a registry, or a push to the user's registry."""
from __future__ import annotations

import os
import re
from pathlib import Path

#: a reference as registries take it: lower-case path parts, an optional host[:port] first, a tag
REFERENCE = re.compile(r"^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?/)?[a-z0-9]+(?:[._-]+[a-z0-9]+)*"
                       r"(?:/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$")


def save(client, tag: str, path: Path, progress=lambda done: None) -> Path:
    """Write the image as a ``docker save`` archive (``docker load -i`` reads it), whole:
    a half-written archive never takes the file's name."""
    import docker.errors
    import requests

    from ..errors import UsageError

    patient(client)
    image = client.images.get(tag)
    tmp = path.with_name(f".{path.name}.part")
    written = 0
    try:
        with open(tmp, "wb") as out:
            for chunk in image.save(named=tag):
                out.write(chunk)
                written += len(chunk)
                progress(written)
        os.replace(tmp, path)
    except (requests.RequestException, docker.errors.APIError) as exc:   # before OSError: requests' are OSErrors
        raise UsageError(f"The container engine stopped answering while sending the image {tag} "
                         f"({written / 2**20:,.0f} MiB had come).",
                         "Try again when the engine is less busy; if it fails again, restart Docker or Podman.",
                         details=str(exc)) from None
    except OSError as exc:
        raise UsageError(f"The image could not be written to {path}.",
                         "Choose a folder with room for it (the image's size, often several hundred MB).",
                         details=str(exc)) from None
    finally:
        tmp.unlink(missing_ok=True)
    return path


def patient(client, seconds: int = 600) -> None:
    """Let the engine take ``seconds`` to start answering: an engine busy with other work can
    take longer than the few seconds a status question is given before it starts sending an
    image (CI run 6 lost an archive to a 10-second wait). Once it sends, the docker SDK reads
    a stream with no time limit."""
    client.api.timeout = max(client.api.timeout or 0, seconds)


def split_ref(ref: str) -> tuple[str, str]:
    """'registry:5000/team/model:2' -> ('registry:5000/team/model', '2'); no tag: 'latest'."""
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        repo, tag = ref.rsplit(":", 1)
        return repo, tag
    return ref, "latest"


def registry_host(repo: str) -> str:
    """The registry a repository lives on, by Docker's rule: the first part when it has a dot
    or a port or is localhost, else Docker Hub."""
    first, slash, _ = repo.partition("/")
    return first if slash and ("." in first or ":" in first or first == "localhost") else "docker.io"


def push(client, tag: str, ref: str, progress=lambda words: None) -> str:
    """Tag the image as ``ref`` and push it; the digest the registry gave. A registry that
    refuses (not reachable, needs a login, not HTTPS) is said in plain words."""
    import docker.errors
    import requests

    from ..errors import UsageError

    if not REFERENCE.match(ref or ""):
        raise UsageError(f"{ref!r} is not an image name a registry takes.",
                         "Use lower case, with no spaces, like registry.example.com/team/model:2.")
    repo, new_tag = split_ref(ref)
    digest, error = None, None
    patient(client)
    try:
        client.images.get(tag).tag(repo, new_tag)
        for line in client.images.push(repo, tag=new_tag, stream=True, decode=True):
            if "error" in line:
                error = line.get("error") or str(line.get("errorDetail"))
            elif line.get("status") and line.get("id"):
                progress(f"{line['id']}: {line['status']}")
            aux = line.get("aux") or {}
            digest = aux.get("Digest", digest)
    except docker.errors.APIError as exc:
        error = getattr(exc, "explanation", None) or str(exc)
    except requests.RequestException as exc:     # the engine itself stopped answering
        error = f"the container engine stopped answering ({exc})"
    host = registry_host(repo)
    if error and any(w in error.lower() for w in ("no basic auth credentials", "unauthorized",
                                                  "authentication required", "denied: requested access")):
        raise UsageError(f"The registry at {host} asks for a login before it takes the image.",
                         f"Log in once with: docker login {host} (your container engine keeps the login), "
                         "then push again.", details=error)
    if error or not digest:
        raise UsageError(f"The registry did not take the image: {error or 'no digest came back'}.",
                         "Check the address, that the registry runs, and that you are logged in to it "
                         "(docker login REGISTRY).", details=error)
    return digest

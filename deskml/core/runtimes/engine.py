"""The container engine: Docker Engine, Docker Desktop, or Podman's Docker API.

``connect`` returns a docker SDK client that answered a ping, or raises
:class:`EngineUnavailable` saying in plain words what is wrong and what to do.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import EngineUnavailable


@dataclass(frozen=True)
class EngineInfo:
    kind: str          # "Docker Engine", "Docker Desktop" or "Podman"
    version: str
    api_version: str
    os: str
    arch: str


def connect(docker_host: str = "", timeout: int = 10):
    import docker
    from docker.errors import DockerException

    try:
        client = (docker.DockerClient(base_url=docker_host, timeout=timeout) if docker_host
                  else docker.from_env(timeout=timeout))
        client.ping()
        return client
    except DockerException as exc:
        raise _explain(exc, docker_host) from None
    except Exception as exc:  # requests/urllib3 errors surface unwrapped on some versions
        raise _explain(exc, docker_host) from None


def _explain(exc: Exception, host: str) -> EngineUnavailable:
    text = str(exc)
    where = f" at {host}" if host else ""
    if "Permission denied" in text or "PermissionError" in text:
        return EngineUnavailable(
            f"Docker is running{where}, but your user account may not use it.",
            "Add your account to the 'docker' group (then log out and in again), "
            "or choose another engine in Settings.", details=text)
    if "No such file" in text or "FileNotFoundError" in text or "not found" in text.lower():
        return EngineUnavailable(
            f"No container engine answers{where}: Docker is not installed, or not started.",
            "Install Docker Desktop or Docker Engine and start it (or point Settings at Podman's "
            "Docker-compatible socket). DeskML can still run models as a local process meanwhile.",
            details=text)
    return EngineUnavailable(
        f"The container engine{where} does not answer.",
        "Start Docker (or Podman's service) and try again; check the engine address in Settings.",
        details=text)


def engine_info(client) -> EngineInfo:
    v = client.version()
    names = " ".join(c.get("Name", "") for c in v.get("Components", []))
    platform = (v.get("Platform") or {}).get("Name", "")
    if "Podman" in names or "Podman" in platform:
        kind = "Podman"
    elif "Desktop" in platform:
        kind = "Docker Desktop"
    else:
        kind = "Docker Engine"
    return EngineInfo(kind, v.get("Version", "?"), v.get("ApiVersion", "?"), v.get("Os", "?"), v.get("Arch", "?"))


def engine_arch(client) -> str:
    """The engine's CPU architecture as wheel platforms name it (x86_64, aarch64)."""
    arch = client.version().get("Arch", "amd64")
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(arch, arch)


def image_present(client, tag: str) -> bool:
    from docker.errors import ImageNotFound

    try:
        client.images.get(tag)
        return True
    except ImageNotFound:
        return False


def no_engine_advice(system: str | None = None) -> tuple[str, str]:
    """(headline, what to do) for a computer with no container engine, in plain words: what it
    means (models run as local processes, and DeskML works meanwhile) and how to get one for
    this kind of computer. The app shows it on its first start."""
    import platform

    system = system or platform.system()
    headline = "No container engine on this computer yet: DeskML works without one"
    means = ("Your models run as local processes on this computer, and everything else works: the "
             "checks, the predictions, the monitoring. With a container engine, each model runs in a "
             "package of its own, with the exact library versions it was saved with.")
    if system in ("Windows", "Darwin"):
        how = ("To get one: install Docker Desktop (free for small businesses, from docker.com) "
               "and start it once.")
    else:
        how = ("To get one: install Docker Engine (the package 'docker.io') or Podman from your "
               "system's software centre, then log out and in again.")
    return headline, f"{means}\n\n{how} DeskML finds it the next time it starts; nothing else to set up."

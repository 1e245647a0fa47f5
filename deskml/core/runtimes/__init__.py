"""Runtimes: where a version runs. ``container`` (an engine's container), ``process``
(a local process where no engine answers), ``engine`` (talking to Docker or Podman),
``base`` (what they share: Running, ports, health). ``core.services`` chooses."""

"""Packaging: from an inspected model file to a version (an image, or a local version).

``plan`` (which Python and pins, and why), ``wheels`` (downloaded on the host),
``dockerfile`` (pure text), ``image`` (the docker SDK build, the registry record),
``local`` (a version without an image).
"""
from .dockerfile import dockerfile
from .image import BuildEvent, build_image, make_context, package, run_to_end
from .local import record_local
from .plan import BuildPlan, available_pythons, pins_for, plan_build, resolve_python
from .wheels import download_wheels, missing_requirements, wheel_cache_dir

__all__ = ["BuildEvent", "BuildPlan", "available_pythons", "build_image", "dockerfile", "download_wheels",
           "make_context", "missing_requirements", "package", "pins_for", "plan_build", "record_local",
           "resolve_python", "run_to_end", "wheel_cache_dir"]

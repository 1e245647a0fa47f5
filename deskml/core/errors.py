"""Errors as data: what happened, what to do next, and an exit code.

Every error DeskML shows a person is a :class:`DeskMLError`. The command line
prints ``message`` as one paragraph and exits with ``exit_code``; the GUI shows
``headline`` and ``what_to_do`` and puts ``details`` behind a "Details" expander.
"""
from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Documented exit codes of the ``deskml`` command (docs/inspect.md)."""
    OK = 0
    INTERNAL = 1          # a bug in DeskML: the message asks to report it
    USAGE = 2             # wrong command-line arguments (argparse's own)
    UNREADABLE = 3        # no such file, a folder, no permission
    NOT_A_MODEL = 4       # empty, damaged, another kind of file, or a pickle of something else
    UNSAFE = 5            # the safety scan refused the file
    NEEDS_CODE = 6        # the model needs the author's own Python code
    LOAD_FAILED = 7       # the model could not be opened in the safe child process
    ENGINE = 8            # no container engine answers
    NOT_FOUND = 9         # no such model or version, or it is not running
    BUILD_FAILED = 10     # packaging the model into an image failed
    UNHEALTHY = 11        # the model's service did not become ready
    PORT_IN_USE = 12      # the port asked for (--port) is used by another model or program
    NO_WINDOW = 13        # the window cannot open here (no screen, or Qt's system libraries are missing)
    BUSY = 14             # the model is being started or stopped by something else (another window)
    CHECK_FAILED = 15     # a version's pre-release check failed (deskml check; deskml promote stops)


class DeskMLError(Exception):
    exit_code = ExitCode.INTERNAL
    kind = "error"
    #: how the window shows it: "error" (something failed or was refused), "warning"
    #: (a mistake to put right, such as the wrong kind of file: no danger)
    level = "error"

    def __init__(self, headline: str, what_to_do: str = "", details: str = "", app_hint: str = ""):
        super().__init__(headline)
        self.headline = headline
        self.what_to_do = what_to_do   # for the command line
        self.details = details
        self._app_hint = app_hint      # for the window, where it differs (buttons, not flags)

    @property
    def app_hint(self) -> str:
        return self._app_hint or self.what_to_do

    @property
    def message(self) -> str:
        """One paragraph: what happened, then what to do next."""
        return f"{self.headline} {self.what_to_do}".strip()

    def to_dict(self) -> dict:
        return {"kind": self.kind, "exit_code": int(self.exit_code), "headline": self.headline,
                "what_to_do": self.what_to_do, "details": self.details}


class FileUnreadable(DeskMLError):
    exit_code = ExitCode.UNREADABLE
    kind = "unreadable"


class NotAModelFile(DeskMLError):
    exit_code = ExitCode.NOT_A_MODEL
    kind = "not-a-model"
    level = "warning"


class UnsafeModelFile(DeskMLError):
    exit_code = ExitCode.UNSAFE
    kind = "unsafe"

    def __init__(self, headline, what_to_do="", details="", *, offenders=(), trustable=(), app_hint=""):
        super().__init__(headline, what_to_do, details, app_hint)
        self.offenders = list(offenders)
        self.trustable = list(trustable)  # modules the user may choose to trust (never the dangerous ones)

    def to_dict(self):
        return {**super().to_dict(), "offenders": self.offenders, "trustable": self.trustable}


class NeedsCode(DeskMLError):
    exit_code = ExitCode.NEEDS_CODE
    kind = "needs-code"

    def __init__(self, headline, what_to_do="", details="", *, missing=(), app_hint=""):
        super().__init__(headline, what_to_do, details, app_hint)
        self.missing = list(missing)   # ["module.Class", ...]

    def to_dict(self):
        return {**super().to_dict(), "missing": self.missing}


class LoadFailed(DeskMLError):
    exit_code = ExitCode.LOAD_FAILED
    kind = "load-failed"


class EngineUnavailable(DeskMLError):
    exit_code = ExitCode.ENGINE
    kind = "engine-unavailable"


class UsageError(DeskMLError):
    exit_code = ExitCode.USAGE
    kind = "usage"


class NotFound(DeskMLError):
    exit_code = ExitCode.NOT_FOUND
    kind = "not-found"


class SettingsError(DeskMLError):
    exit_code = ExitCode.USAGE
    kind = "settings"


class BuildFailed(DeskMLError):
    exit_code = ExitCode.BUILD_FAILED
    kind = "build-failed"


class ServiceUnhealthy(DeskMLError):
    exit_code = ExitCode.UNHEALTHY
    kind = "unhealthy"


class ModelFileChanged(UnsafeModelFile):
    """The file to package is not the file that was checked (it changed on disk since)."""
    kind = "file-changed"


class PortInUse(DeskMLError):
    exit_code = ExitCode.PORT_IN_USE
    kind = "port-in-use"


class Busy(DeskMLError):
    """Another start or stop of the same model is under way (another window, the command line)."""
    exit_code = ExitCode.BUSY
    kind = "busy"
    level = "warning"


class CheckFailed(DeskMLError):
    """A version's pre-release check failed: the promotion waits for the user's say-so."""
    exit_code = ExitCode.CHECK_FAILED
    kind = "check-failed"
    level = "warning"

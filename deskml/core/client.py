"""Talk to a running model service: one prediction, or a whole CSV file.

Used by ``deskml predict`` / ``deskml score`` and, later, by the app's Try-it
and Batch tabs. Scoring streams the file up and the result down, so files of
any size use little memory, and writes the result atomically: a failed or
cancelled run leaves no half-written output and never touches the input.
"""
from __future__ import annotations

import os
from pathlib import Path

from .errors import DeskMLError, ExitCode, UsageError

CHUNK = 1 << 20


class ServiceError(DeskMLError):
    exit_code = ExitCode.UNHEALTHY
    kind = "service"


def _explain(resp, what: str) -> DeskMLError:
    try:
        message = resp.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = resp.text[:300]
    if resp.headers.get("x-deskml-front-door") == "unavailable":  # the address is open, no version answers
        return ServiceError(f"The model's service does not answer: {message}.",
                            "Check it is running (deskml status) and start it if needed; DeskML restarts a "
                            "crashed service by itself.")
    if 400 <= resp.status_code < 500:
        return UsageError(f"The model did not accept {what}: {message}.",
                          "Fix the input named in the message and try again.")
    return ServiceError(f"The model's service failed ({resp.status_code}): {message}.",
                        "Look at its log (deskml logs NAME); the model may not handle this input.")


def predict(url: str, rows: list[dict], timeout: float = 30) -> dict:
    import requests

    try:
        resp = requests.post(url + "/v1/predict", json={"inputs": rows}, timeout=timeout)
    except requests.RequestException as exc:
        raise ServiceError(f"The model's service at {url} does not answer.",
                           "Check it is running (deskml status) and start it if needed.", details=str(exc)) from None
    if resp.status_code != 200:
        raise _explain(resp, "the input")
    return resp.json()


def score_csv(url: str, src: Path, dst: Path, progress=lambda done, total: None, cancel=lambda: False,
              timeout: float = 600) -> int:
    """Score a CSV through the service into ``dst``; returns the number of rows written."""
    import requests

    src, dst = Path(src), Path(dst)
    if not src.is_file():
        raise UsageError(f"There is no file at {src}.", "Check the name and folder.")
    if src.resolve() == dst.resolve():
        raise UsageError("The result would overwrite the input file.", "Choose another name for the result.")
    total = src.stat().st_size

    def body():
        done = 0
        with open(src, "rb") as f:
            while chunk := f.read(CHUNK):
                if cancel():
                    raise UsageError("Scoring was cancelled.", "Nothing was written.")
                done += len(chunk)
                progress(done, total)
                yield chunk

    tmp = dst.with_name(f".{dst.name}.partial")
    try:
        resp = requests.post(url + "/v1/predict/csv", data=body(), stream=True, timeout=timeout,
                             headers={"content-type": "text/csv"})
        if resp.status_code != 200:
            raise _explain(resp, src.name)
        lines = 0
        tail = b""
        with open(tmp, "wb") as out:
            try:
                for chunk in resp.iter_content(CHUNK):
                    if cancel():
                        raise UsageError("Scoring was cancelled.", "Nothing was written.")
                    out.write(chunk)
                    lines += chunk.count(b"\n")
                    tail = (tail + chunk)[-8192:]
            except requests.RequestException:
                mistake = _mistake_in_stream(tail)
                if mistake is not None:  # a bad row after the first rows were already answered
                    raise UsageError(f"The model did not accept {src.name}: {mistake}.",
                                     "Fix the value named in the message and score the file again. "
                                     "Nothing was written.") from None
                raise
        os.replace(tmp, dst)
        return max(lines - 1, 0)
    except requests.RequestException as exc:
        raise ServiceError(f"The model's service at {url} stopped answering while scoring.",
                           "Check it is running (deskml status) and try again.", details=str(exc)) from None
    finally:
        if tmp.exists():
            tmp.unlink()


def _mistake_in_stream(tail: bytes) -> str | None:
    """The service ends a CSV answer it cannot finish with a line '#DESKML-ERROR {json}'."""
    import json

    marker = tail.rfind(b"\n#DESKML-ERROR ")
    if marker < 0:
        return None
    try:
        return json.loads(tail[marker + 15:].strip())["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return None

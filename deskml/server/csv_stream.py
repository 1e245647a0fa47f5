"""``POST /v1/predict/csv``: CSV in, the same CSV with prediction columns out, chunk by chunk.

The body is read as a stream and answered as one: 20,000 rows are parsed,
checked column by column, predicted (in the predict thread) and written before
the next are read, so a file of any size uses little memory.
"""
import asyncio
import csv
import io

from .service import ClientError

CSV_CHUNK_ROWS = 20_000


async def predict_csv(req, svc, pool, metrics):
    """CSV in, the same CSV with prediction columns out, chunk by chunk."""
    reader = _CsvChunks(req.stream)
    header = await reader.header()
    if header is None:
        raise ClientError(400, "the CSV is empty; send a header row with the input names, then data rows")
    names = next(csv.reader([header]))
    missing = [n for n in svc.names if n not in names]
    if missing:
        raise ClientError(422, f"the CSV has no column '{missing[0]}' (it needs: {', '.join(svc.names)})",
                          missing[0])
    extra_cols = ["prediction"] + ([f"probability_{c}" for c in svc.classes] if svc.has_proba and svc.classes
                                   else [])
    loop = asyncio.get_running_loop()
    row0 = 0
    async for lines in reader.chunks(CSV_CHUNK_ROWS):
        X = svc.check_frame(_parse_csv(header, lines, names), row0)
        preds, proba = await loop.run_in_executor(pool, svc.predict_arrays, X)
        extra = _extra_lines(preds, proba)
        out = io.StringIO()
        if not req.started:
            out.write(header.rstrip("\r\n") + "," + ",".join(extra_cols) + "\n")
        for line, tail in zip(lines, extra):
            out.write(line.rstrip("\r\n"))
            out.write(",")
            out.write(tail)
        if not req.started:
            req.start_stream(200, b"text/csv; charset=utf-8")
        await req.send_chunk(out.getvalue().encode())
        metrics.rows += len(lines)
        row0 += len(lines)
    if not req.started:
        raise ClientError(400, "the CSV has a header but no data rows")
    await req.end_stream(200)


def _extra_lines(preds, proba):
    """The prediction columns of a chunk as CSV text, one line per row."""
    import pandas as pd

    cols = {"p": preds}
    if proba is not None:
        for j in range(proba.shape[1]):
            cols[j] = proba[:, j].round(6)
    return pd.DataFrame(cols).to_csv(header=False, index=False, lineterminator="\n").splitlines(True)


class _CsvChunks:
    """Read a streamed request body as CSV lines without holding all of it."""

    def __init__(self, stream):
        self.stream = stream
        self.buf = b""
        self.more = True

    async def _fill(self):
        data = await self.stream.read()
        if data:
            self.buf += data
        else:
            self.more = False

    async def header(self):
        while b"\n" not in self.buf and self.more:
            await self._fill()
        if not self.buf.strip():
            return None
        line, _, self.buf = self.buf.partition(b"\n")
        return _decode(line).lstrip("\ufeff").rstrip("\r")

    async def chunks(self, rows):
        while True:
            while self.buf.count(b"\n") < rows and self.more:
                await self._fill()
            if not self.buf:
                return
            if self.more:
                cut = 0
                for _ in range(rows):
                    nxt = self.buf.find(b"\n", cut)
                    if nxt < 0:
                        break
                    cut = nxt + 1
                data, self.buf = self.buf[:cut], self.buf[cut:]
            else:
                data, self.buf = self.buf, b""
            lines = [ln for ln in _decode(data).splitlines(True) if ln.strip()]
            if lines:
                yield lines


def _decode(b):
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        raise ClientError(400, "the CSV is not UTF-8 text; save it as 'CSV UTF-8'") from None


def _parse_csv(header, lines, names):
    """A chunk of CSV lines as a DataFrame of text (the checks convert numbers)."""
    import pandas as pd

    try:
        return pd.read_csv(io.StringIO(header + "\n" + "".join(lines)), dtype=str, keep_default_na=False,
                           na_values=[""], skip_blank_lines=True, engine="c")
    except (pd.errors.ParserError, ValueError) as exc:
        raise ClientError(422, f"the CSV cannot be read: {exc}") from None

"""``POST /v1/predict/csv``: CSV in, the same CSV with prediction columns out, chunk by chunk.

The body is read as a stream and answered as one: 20,000 rows are parsed,
checked column by column, predicted (in the predict thread) and written before
the next are read, so a file of any size uses little memory.
"""
import asyncio
import csv
import io
import re
import time

from .service import ClientError

CSV_CHUNK_ROWS = 20_000
ID_COLUMN = "prediction_id"  # the last column of a scored CSV: to join real outcomes later


async def predict_csv(req, svc, pool, metrics, journal, journaling, source):
    """CSV in, the same CSV with prediction columns (and each row's prediction id) out, chunk
    by chunk; each chunk is journaled before it is sent."""
    reader = _CsvChunks(req.stream)
    header = await reader.header()
    if header is None:
        raise ClientError(400, "the CSV is empty; send a header row with the input names, then data rows")
    try:
        names = next(csv.reader([header]))
    except csv.Error as exc:  # the client's CSV is malformed: its mistake, said as such
        hint = ("its lines end with a carriage return alone (an old Mac format): save it as 'CSV UTF-8'"
                if "\r" in header else "send one line of input names separated by commas")
        raise ClientError(400, f"the CSV's header row cannot be read ({exc}); {hint}") from None
    missing = [n for n in svc.required if n not in names]
    if missing:
        raise ClientError(422, f"the CSV has no column '{missing[0]}' (it needs: {', '.join(svc.required)})",
                          missing[0])
    extra_cols = answer_columns(svc) + [ID_COLUMN]
    loop = asyncio.get_running_loop()
    row0 = 0
    async for lines in reader.chunks(CSV_CHUNK_ROWS):
        t0 = time.perf_counter()
        X, cols = svc.check_frame(_parse_csv(header, lines, names), row0)
        preds, proba = await loop.run_in_executor(pool, svc.predict_arrays, X)
        n = len(lines)
        first = journal.take(n)
        ids = journal.ids(first, n)
        extra = _extra_lines(preds, proba, ids)
        if journaling:
            predictions, rows = svc.journal_outputs(preds, proba)
            journal.write(journal.predictions(first, n, time.time(), source, (time.perf_counter() - t0) * 1000,
                                              cols, predictions, rows), n)
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
        metrics.rows += n
        row0 += n
    if not req.started:
        raise ClientError(400, "the CSV has a header but no data rows")
    await req.end_stream(200)


def answer_columns(svc):
    """The columns a scored CSV gets: the prediction (one per target of a multi-output
    model), then a probability per class."""
    if svc.n_outputs > 1:
        cols = [f"prediction_{k + 1}" for k in range(svc.n_outputs)]
    else:
        cols = ["prediction"]
    if svc.has_proba and svc.classes:
        cols += [f"probability_{c}" for c in svc.classes]
    return cols


def _extra_lines(preds, proba, ids):
    """The prediction columns of a chunk, and the prediction ids, as CSV text, one line per row."""
    import pandas as pd

    if getattr(preds, "ndim", 1) == 2:
        cols = {("p", k): preds[:, k] for k in range(preds.shape[1])}
    else:
        cols = {"p": preds}
    if proba is not None:
        for j in range(proba.shape[1]):
            cols[j] = proba[:, j].round(6)
    cols["id"] = ids
    return records(pd.DataFrame(cols).to_csv(header=False, index=False, lineterminator="\n"))


_RECORD_MARKS = re.compile(r'["\n]')


def records(text):
    """CSV text cut into records, each with its line end: a record ends at a newline outside
    quotes, so a quoted value may hold newlines (and nothing else counts as a line end).
    Blank records are left out, as the parser leaves them out."""
    if '"' not in text:
        parts = text.split("\n")
        out = [p + "\n" for p in parts[:-1] if p.strip()]
        if parts[-1].strip():
            out.append(parts[-1])
        return out
    out, start, quoted = [], 0, False
    for m in _RECORD_MARKS.finditer(text):
        if m.group() == '"':
            quoted = not quoted
        elif not quoted:
            piece = text[start:m.end()]
            if piece.strip():
                out.append(piece)
            start = m.end()
    if text[start:].strip():
        out.append(text[start:])
    return out


def _record_ends(buf, limit):
    """The offset just after the first ``limit`` complete records of ``buf`` (bytes that start
    at a record's start), and how many there were."""
    if b'"' not in buf:
        pos = 0
        for n in range(limit):
            nxt = buf.find(b"\n", pos)
            if nxt < 0:
                return pos, n
            pos = nxt + 1
        return pos, limit
    pos, n, quoted = 0, 0, False
    for m in _RECORD_MARKS_B.finditer(buf):
        if m.group() == b'"':
            quoted = not quoted
        elif not quoted:
            pos, n = m.end(), n + 1
            if n == limit:
                break
    return pos, n


_RECORD_MARKS_B = re.compile(rb'["\n]')


class _CsvChunks:
    """Read a streamed request body as CSV records without holding all of it. The buffer
    always starts at a record's start; a quoted value may hold newlines."""

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

    async def _take(self, rows):
        """Up to ``rows`` whole records (bytes), reading more of the body as needed."""
        while True:
            if self.more and self.buf.count(b"\n") < rows:  # cheap: at most that many records
                await self._fill()
                continue
            cut, n = _record_ends(self.buf, rows)
            if n == rows or not self.more:
                if not self.more and n < rows:
                    cut = len(self.buf)  # the last record may lack its line end
                data, self.buf = self.buf[:cut], self.buf[cut:]
                return data
            await self._fill()  # quoted newlines: fewer records than lines so far

    async def header(self):
        data = await self._take(1)
        if not data.strip():
            return None
        return _decode(data).lstrip("\ufeff").rstrip("\r\n")

    async def chunks(self, rows):
        while self.buf or self.more:
            data = await self._take(rows)
            if not data:
                return
            lines = records(_decode(data))
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
    except (pd.errors.ParserError, ValueError, csv.Error) as exc:
        raise ClientError(400, f"the CSV cannot be read: {str(exc).strip()}") from None

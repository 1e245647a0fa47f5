"""Static scan of a pickle stream: what it would import and call, without running it.

A small symbolic pickle machine walks every opcode (``pickletools.genops``) and
keeps a model of the stack and memo: constants and containers as plain Python
values, imported globals as :class:`Ref`, and objects the pickle would create
(REDUCE, NEWOBJ, INST, OBJ) as :class:`Built`. Nothing is imported and nothing
is called.

joblib files interleave raw array bytes with pickle opcodes: after the BUILD of
a ``joblib.numpy_pickle.NumpyArrayWrapper`` the unpickler reads the array data
straight from the stream (and for object arrays, a whole nested pickle). The
scan mirrors that exactly, skipping the bytes or scanning the nested pickle, so
that no opcode is hidden from it.

Whatever the scan cannot follow (persistent ids, the extension registry,
out-of-band buffers, a call of something that is not a plain global) is an
error: a file we cannot read statically is never "loaded to see".
"""
from __future__ import annotations

import io
import pickletools
import re
from collections import Counter
from dataclasses import dataclass, field

SMALL_ARRAY_BYTES = 1 << 16  # raw arrays up to this size are kept for the static description
#: joblib's array wrapper, after which raw array bytes follow in the stream; scikit-learn
#: up to 0.22 shipped its own copy of joblib under sklearn.externals
JOBLIB_ARRAY_WRAPPERS = frozenset({("joblib.numpy_pickle", "NumpyArrayWrapper"),
                                   ("sklearn.externals.joblib.numpy_pickle", "NumpyArrayWrapper")})


class ScanError(Exception):
    """The stream is not a pickle the scan can follow (corrupt, truncated, or exotic)."""

    def __init__(self, message: str, *, truncated: bool = False, unsafe_feature: bool = False):
        super().__init__(message)
        self.partial: ScanResult | None = None
        self.truncated = truncated
        self.unsafe_feature = unsafe_feature


@dataclass(frozen=True)
class Ref:
    """A global the pickle imports: ``module.name``."""
    module: str
    name: str

    @property
    def dotted(self) -> str:
        return f"{self.module}.{self.name}"


class Built:
    """An object the pickle would create by calling ``func`` with ``args``."""
    __slots__ = ("func", "args", "state", "items", "array")

    def __init__(self, func, args):
        self.func = func
        self.args = args
        self.state = None
        self.items = None   # APPEND/SETITEM applied to it
        self.array = None   # ArrayValue when this stands for a numpy array

    @property
    def class_ref(self) -> Ref | None:
        """The class this object is an instance of, where the pickle says so."""
        f = self.func
        if isinstance(f, Ref):
            if f.name in ("_reconstructor", "__newobj__", "__newobj_ex__") and self.args:
                first = self.args[0]
                return first if isinstance(first, Ref) else None
            return f
        return None


@dataclass
class ArrayValue:
    """What the scan knows about a numpy array: dtype, shape, and values when small."""
    dtype: str
    shape: tuple
    values: list | None = None   # object arrays: the Python values
    raw: bytes | None = None     # small numeric arrays: the bytes


class _Mark:
    pass


MARK = _Mark()


@dataclass
class ScanResult:
    protocol: int = 0
    refs: dict[tuple[str, str], int] = field(default_factory=dict)  # (module, name) -> first offset
    calls: Counter = field(default_factory=Counter)                 # Ref.dotted -> times called
    sklearn_versions: Counter = field(default_factory=Counter)
    top: object = None
    opcodes: int = 0
    skipped_array_bytes: int = 0

    @property
    def sklearn_version(self) -> str | None:
        return self.sklearn_versions.most_common(1)[0][0] if self.sklearn_versions else None


_DTYPE_SIZE = re.compile(r"^[<>|=]?[a-zA-Z]+?(\d+)")


class _Machine:
    def __init__(self, stream, result: ScanResult, depth: int = 0):
        self.stream = stream
        self.result = result
        self.depth = depth
        self.stack: list = []
        self.metastack: list = []
        self.memo: dict = {}

    # -- helpers ------------------------------------------------------------
    def _pop_mark(self) -> list:
        try:
            items = self.stack
            self.stack = self.metastack.pop()
        except IndexError:
            raise ScanError("a MARK is missing") from None
        return items

    def _pop(self):
        if not self.stack:
            raise ScanError("the pickle stack underflows")
        v = self.stack.pop()
        if v is MARK:
            raise ScanError("an unexpected MARK")
        return v

    def _ref(self, module, name, pos) -> Ref:
        if not isinstance(module, str) or not isinstance(name, str):
            raise ScanError("imports a name that is computed, not written in the file",
                            unsafe_feature=True)
        key = (module, name)
        self.result.refs.setdefault(key, pos)
        return Ref(module, name)

    def _call(self, func, args, pos) -> Built:
        if not isinstance(func, Ref):
            raise ScanError("calls something that is not a plain import", unsafe_feature=True)
        self.result.calls[func.dotted] += 1
        # numpy < 2 pickles ufuncs as _ufunc_reconstruct('numpy', 'log'): an
        # import in disguise, so judge it as one.
        if func.name == "_ufunc_reconstruct":
            if not (isinstance(args, tuple) and len(args) == 2
                    and all(isinstance(a, str) for a in args)):
                raise ScanError("imports a name that is computed, not written in the file",
                                unsafe_feature=True)
            return self._ref(args[0], args[1], pos)
        if func.name == "encode" and func.module in ("_codecs", "codecs"):
            if not (isinstance(args, tuple) and len(args) == 2 and isinstance(args[0], str)
                    and args[1] in ("latin1", "latin-1")):
                raise ScanError("uses a text codec in a way models never do", unsafe_feature=True)
            return args[0].encode("latin1")  # the bytes it stands for
        return Built(func, args)

    @staticmethod
    def _setstate(obj, state, result: ScanResult):
        if isinstance(obj, Built):
            obj.state = state
            if isinstance(state, dict):
                v = state.get("_sklearn_version")
                if isinstance(v, str):
                    result.sklearn_versions[v] += 1
            elif (isinstance(state, tuple) and len(state) == 2 and isinstance(state[0], dict)):
                v = state[0].get("_sklearn_version")
                if isinstance(v, str):
                    result.sklearn_versions[v] += 1
            _maybe_numpy_array(obj, state)

    # -- joblib arrays -------------------------------------------------------
    def _joblib_array(self, wrapper: Built):
        st = wrapper.state
        if not isinstance(st, dict):
            raise ScanError("a joblib array header is damaged")
        shape, dtype = st.get("shape"), st.get("dtype")
        if not isinstance(shape, tuple) or not all(isinstance(n, int) and n >= 0 for n in shape):
            raise ScanError("a joblib array header is damaged")
        itemsize, hasobject, dname = _dtype_facts(dtype)
        count = 1
        for n in shape:
            count *= n
        if hasobject:
            nested = _Machine(self.stream, self.result, self.depth + 1)
            value = nested.run()
            arr = value if isinstance(value, Built) and value.array is not None else None
            if arr is None:
                wrapped = Built(Ref("numpy", "ndarray"), ())
                wrapped.array = ArrayValue(dname, shape, list(value) if isinstance(value, list) else None)
                return wrapped
            return arr
        if "numpy_array_alignment_bytes" in st:
            pad = self.stream.read(1)
            if len(pad) != 1:
                raise ScanError("the file ends inside an array", truncated=True)
            if pad[0]:
                self._skip(pad[0])
        nbytes = count * itemsize
        out = Built(Ref("numpy", "ndarray"), ())
        out.array = ArrayValue(dname, shape)
        if nbytes <= SMALL_ARRAY_BYTES:
            data = self.stream.read(nbytes)
            if len(data) != nbytes:
                raise ScanError("the file ends inside an array", truncated=True)
            out.array.raw = data
        else:
            self._skip(nbytes)
        self.result.skipped_array_bytes += nbytes
        return out

    def _skip(self, n: int):
        s = self.stream
        # Seek only in real files and memory; compressed streams would
        # decompress everything to find their end, so read past instead.
        if isinstance(s, io.BytesIO) or isinstance(getattr(s, "raw", None), io.FileIO):
            here = s.tell()
            end = s.seek(0, io.SEEK_END)
            if here + n > end:
                raise ScanError("the file ends inside an array", truncated=True)
            s.seek(here + n)
            return
        while n:
            chunk = s.read(min(n, 1 << 20))
            if not chunk:
                raise ScanError("the file ends inside an array", truncated=True)
            n -= len(chunk)

    # -- the machine -----------------------------------------------------------
    def run(self):
        if self.depth > 4:
            raise ScanError("arrays are nested too deeply")
        res = self.result
        memo = self.memo
        constants, fixed, step = _CONSTANTS, _FIXED, self._step
        proto = res.protocol
        count = 0
        try:
            for op, arg, pos in pickletools.genops(_Reader(self.stream)):
                count += 1
                name = op.name
                if op.proto > proto:
                    proto = op.proto  # protocols 0 and 1 have no header
                if name in constants:
                    if isinstance(arg, (bytes, bytearray)):
                        if len(arg) > SMALL_ARRAY_BYTES:
                            arg = _BigBytes(len(arg))
                        elif name == "BYTEARRAY8":
                            arg = bytearray(arg)
                    self.stack.append(arg)
                elif name == "MEMOIZE":
                    if not self.stack:
                        raise ScanError("the pickle stack underflows")
                    memo[len(memo)] = self.stack[-1]
                elif name == "STOP":
                    if len(self.stack) != 1 or self.metastack:
                        raise ScanError("the pickle ends with a damaged stack")
                    return self.stack[0]
                elif name in fixed:
                    self.stack.append(fixed[name]())
                elif name == "MARK":
                    self.metastack.append(self.stack)
                    self.stack = []
                elif name == "PROTO":
                    if arg > 5:
                        raise ScanError(f"pickle protocol {arg} is unknown")
                    proto = max(proto, arg)
                elif name == "FRAME":
                    pass
                elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
                    n = int(name[-1])
                    stack = self.stack
                    if len(stack) < n:
                        raise ScanError("the pickle stack underflows")
                    items = tuple(stack[-n:])
                    del stack[-n:]
                    stack.append(items)
                else:
                    step(name, arg, pos)
        except ScanError:
            raise
        except EOFError as exc:  # a compressed stream that ends early
            raise ScanError(f"the data ends early ({exc})", truncated=True) from None
        except ValueError as exc:  # genops: bad opcode, bad argument, truncated read
            text = str(exc)
            trunc = any(t in text for t in ("not enough data", "but only", "no newline found"))
            raise ScanError(f"the data is not a readable pickle ({text})", truncated=trunc) from None
        except (UnicodeDecodeError, OverflowError, TypeError, KeyError, MemoryError,
                RecursionError) as exc:
            raise ScanError(f"the data is not a readable pickle ({exc})") from None
        finally:
            res.opcodes += count
            if self.depth == 0:
                res.protocol = proto
        raise ScanError("the file ends before the pickle is complete", truncated=True)

    def _step(self, name, arg, pos):
        """Opcodes that rebuild containers, use the memo, import or call."""
        stack = self.stack
        if name in ("BINPUT", "PUT", "LONG_BINPUT"):
            if not stack:
                raise ScanError("the pickle stack underflows")
            self.memo[arg] = stack[-1]
        elif name in ("BINGET", "GET", "LONG_BINGET"):
            if arg not in self.memo:
                raise ScanError("the pickle refers to a value it never stored")
            stack.append(self.memo[arg])
        elif name in ("TUPLE", "LIST", "DICT", "FROZENSET"):
            items = self._pop_mark()
            if name == "TUPLE":
                self.stack.append(tuple(items))
            elif name == "DICT":
                self.stack.append(_pairs_to_dict(items))
            else:
                self.stack.append(list(items))
        elif name == "APPEND":
            v = self._pop()
            target = self._pop()
            _append(target, [v])
            self.stack.append(target)
        elif name in ("APPENDS", "ADDITEMS"):
            items = self._pop_mark()
            target = self._pop()
            _append(target, items)
            self.stack.append(target)
        elif name == "SETITEM":
            v = self._pop()
            k = self._pop()
            target = self._pop()
            _setitems(target, [k, v])
            self.stack.append(target)
        elif name == "SETITEMS":
            items = self._pop_mark()
            target = self._pop()
            _setitems(target, items)
            self.stack.append(target)
        elif name == "POP":
            if stack:
                stack.pop()
            else:
                self._pop_mark()
        elif name == "POP_MARK":
            self._pop_mark()
        elif name == "DUP":
            if not stack:
                raise ScanError("the pickle stack underflows")
            stack.append(stack[-1])
        elif name == "GLOBAL":
            module, _, gname = arg.partition(" ")
            stack.append(self._ref(module, gname, pos))
        elif name == "STACK_GLOBAL":
            gname = self._pop()
            module = self._pop()
            stack.append(self._ref(module, gname, pos))
        elif name == "INST":
            module, _, gname = arg.partition(" ")
            items = self._pop_mark()
            ref = self._ref(module, gname, pos)
            self.stack.append(self._call(ref, tuple(items), pos))
        elif name == "OBJ":
            items = self._pop_mark()
            if not items:
                raise ScanError("the pickle stack underflows")
            self.stack.append(self._call(items[0], tuple(items[1:]), pos))
        elif name == "REDUCE":
            args = self._pop()
            func = self._pop()
            if not isinstance(args, tuple):
                raise ScanError("a call in the pickle has malformed arguments")
            stack.append(self._call(func, args, pos))
        elif name in ("NEWOBJ", "NEWOBJ_EX"):
            kwargs = self._pop() if name == "NEWOBJ_EX" else {}
            args = self._pop()
            cls = self._pop()
            if not isinstance(cls, Ref):
                raise ScanError("creates an object of a class that is not a plain import",
                                unsafe_feature=True)
            if not isinstance(args, tuple):
                raise ScanError("a call in the pickle has malformed arguments")
            self.result.calls[cls.dotted] += 1
            stack.append(Built(Ref("copyreg", "__newobj__"), (cls,) + args + ((kwargs,) if kwargs else ())))
        elif name == "BUILD":
            state = self._pop()
            if not stack:
                raise ScanError("the pickle stack underflows")
            obj = stack[-1]
            if isinstance(obj, Ref):
                raise ScanError(f"changes the definition of {obj.dotted}", unsafe_feature=True)
            self._setstate(obj, state, self.result)
            cls = obj.class_ref if isinstance(obj, Built) else None
            if cls is not None and (cls.module, cls.name) in JOBLIB_ARRAY_WRAPPERS:
                stack[-1] = self._joblib_array(obj)
            elif cls is not None and cls.name in ("NDArrayWrapper", "ZNDArrayWrapper"):
                raise ScanError("the file uses joblib's old multi-file format (before 2016)",
                                unsafe_feature=True)
        elif name in ("PERSID", "BINPERSID"):
            raise ScanError("the pickle refers to objects stored outside the file", unsafe_feature=True)
        elif name in ("EXT1", "EXT2", "EXT4"):
            raise ScanError("the pickle uses the extension registry", unsafe_feature=True)
        elif name in ("NEXT_BUFFER", "READONLY_BUFFER"):
            raise ScanError("the pickle needs out-of-band buffers")


_CONSTANTS = frozenset("""
    INT BININT BININT1 BININT2 LONG LONG1 LONG4 STRING BINSTRING SHORT_BINSTRING
    BINBYTES SHORT_BINBYTES BINBYTES8 BYTEARRAY8 UNICODE SHORT_BINUNICODE
    BINUNICODE BINUNICODE8 FLOAT BINFLOAT
""".split())
_FIXED = {
    "NONE": lambda: None, "NEWTRUE": lambda: True, "NEWFALSE": lambda: False,
    "EMPTY_LIST": list, "EMPTY_SET": list, "EMPTY_DICT": dict, "EMPTY_TUPLE": tuple,
}


class _Reader:
    """The stream as genops sees it: no tell(), which genops would call for
    every opcode only to report positions the scan does not need."""
    __slots__ = ("read", "readline")

    def __init__(self, stream):
        self.read = stream.read
        self.readline = stream.readline


class _BigBytes:
    __slots__ = ("size",)

    def __init__(self, size):
        self.size = size


def _pairs_to_dict(items):
    if len(items) % 2:
        raise ScanError("a dictionary in the pickle is damaged")
    d = {}
    for i in range(0, len(items), 2):
        _put(d, items[i], items[i + 1])
    return d


def _put(d, k, v):
    try:
        d[k] = v
    except TypeError:  # unhashable key (a list): keep it, keyed by identity
        d[("<unhashable>", id(k))] = v


def _append(target, items):
    if isinstance(target, list):
        target.extend(items)
    elif isinstance(target, Built):
        target.items = (target.items or []) + list(items)
    else:
        raise ScanError("the pickle appends to something that is not a list")


def _setitems(target, items):
    if len(items) % 2:
        raise ScanError("a dictionary in the pickle is damaged")
    if isinstance(target, dict):
        for i in range(0, len(items), 2):
            _put(target, items[i], items[i + 1])
    elif isinstance(target, Built):
        target.items = (target.items or []) + list(items)
    else:
        raise ScanError("the pickle sets items on something that is not a dictionary")


def _dtype_facts(dtype) -> tuple[int, bool, str]:
    """(itemsize, has Python objects, name) of a pickled numpy dtype."""
    if not (isinstance(dtype, Built) and isinstance(dtype.func, Ref) and dtype.func.name == "dtype"
            and dtype.args and isinstance(dtype.args[0], str)):
        raise ScanError("a joblib array header has an unreadable data type")
    dname = dtype.args[0]
    st = dtype.state
    elsize, flags = -1, 0
    if isinstance(st, tuple) and len(st) >= 8:
        elsize = st[5] if isinstance(st[5], int) else -1
        flags = st[7] if isinstance(st[7], int) else 0
    if elsize <= 0:
        m = _DTYPE_SIZE.match(dname)
        if not m:
            raise ScanError("a joblib array header has an unreadable data type")
        elsize = int(m.group(1))
    hasobject = bool(flags & 1) or dname.lstrip("<>|=").startswith("O")
    return elsize, hasobject, dname


def _maybe_numpy_array(obj: Built, state):
    """Plain (non-joblib) pickles of arrays: _reconstruct(...) then BUILD
    (version, shape, dtype, fortran, data)."""
    f = obj.func
    if not (isinstance(f, Ref) and f.name == "_reconstruct"):
        return
    if isinstance(state, tuple) and len(state) == 5 and isinstance(state[1], tuple):
        data = state[4]
        dname = state[2].args[0] if isinstance(state[2], Built) and state[2].args else "?"
        if isinstance(data, list):
            obj.array = ArrayValue(str(dname), state[1], values=data)
        elif isinstance(data, (bytes, bytearray)):
            obj.array = ArrayValue(str(dname), state[1], raw=bytes(data))
        else:
            obj.array = ArrayValue(str(dname), state[1])


def scan_stream(stream) -> ScanResult:
    """Scan one pickle from a binary stream positioned at its start."""
    result = ScanResult()
    try:
        result.top = _Machine(stream, result).run()
    except ScanError as exc:
        exc.partial = result  # what was seen before the damage still counts
        raise
    return result

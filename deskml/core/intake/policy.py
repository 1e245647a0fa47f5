"""Which imports a model file may make: DeskML's allow-list.

A pickle names every function and class it needs as a pair (module, name);
unpickling imports them and may call them. This module judges such a pair
without importing anything. The same judgement is used twice: by the static
scan before anything is loaded, and by the restricted unpickler in the loading
child process, so a gap in one is caught by the other.

Verdicts:
  ALLOWED     what scikit-learn models legitimately need.
  KNOWN_LIB   a class of a well-known scikit-learn-compatible model library
              (XGBoost, LightGBM, imbalanced-learn): allowed, and noted.
  TRUSTED     a module the user trusted explicitly (--trust, or --code files).
  CUSTOM      a module that is not installed anywhere (or __main__): the
              author's own code, which the user must supply.
  UNTRUSTED   an installed third-party module DeskML does not know: refused,
              but the user may trust it explicitly.
  DANGEROUS   anything that can run programs, touch files or the network,
              evaluate code or import other modules: always refused.
"""
from __future__ import annotations

import _compat_pickle
import importlib.util
import re
import sys
from dataclasses import dataclass
from enum import Enum


class Verdict(str, Enum):
    ALLOWED = "allowed"
    KNOWN_LIB = "known-library"
    TRUSTED = "trusted"
    CUSTOM = "custom-code"
    UNTRUSTED = "untrusted"
    DANGEROUS = "dangerous"


#: Modules whose names DeskML checks one by one; trusting them wholesale
#: with --trust would defeat that, so it is refused.
CURATED_PACKAGES = frozenset(
    {"sklearn", "numpy", "scipy", "joblib", "pandas", "builtins", "copyreg",
     "collections", "functools", "datetime", "decimal"}
)

#: Model libraries DeskML knows, by top-level package -> pip distribution.
KNOWN_LIBRARIES = {"xgboost": "xgboost", "lightgbm": "lightgbm", "imblearn": "imbalanced-learn"}

#: Names that are never a model's business, whatever module they come from.
DANGEROUS_NAMES = frozenset(
    """
    eval exec execfile compile system popen popen2 popen3 popen4 spawn spawnl
    spawnle spawnlp spawnv spawnve spawnvp execl execle execlp execv execve
    execvp fork forkpty kill call check_call check_output run Popen getoutput
    getstatusoutput open open_code load loads dump dumps load_module
    import_module __import__ reload getattr setattr delattr globals locals vars
    input breakpoint apply remove unlink rmtree rmdir removedirs rename
    replace chmod chown system_call urlopen urlretrieve connect
    create_connection socket read_pickle read_csv read_json read_sql read_table
    read_excel read_parquet read_hdf to_pickle to_csv fromfile tofile memmap
    loadtxt savetxt genfromtxt save savez attrgetter methodcaller itemgetter
    """.split()
)

#: Sub-packages of trusted families that hold no model classes but do hold
#: functions that download, write files or run tests.
_DENIED_SUBMODULES = (
    "sklearn.datasets", "sklearn.utils._testing", "sklearn.utils.estimator_checks",
    "sklearn.externals", "sklearn.utils._show_versions", "sklearn._build_utils",
    "sklearn.tests", "sklearn.conftest", "sklearn.utils._joblib",
    "pandas.io", "pandas.core.computation", "pandas.core.config_init",
    "pandas._config", "pandas.testing", "pandas._testing", "pandas.util",
    "numpy.testing", "numpy.lib.npyio", "numpy.lib.format", "numpy.distutils",
    "numpy.f2py", "numpy.ctypeslib",
)

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

_NUMPY_SCALARS = frozenset(
    """
    bool_ bool int8 int16 int32 int64 uint8 uint16 uint32 uint64 intc uintc
    intp uintp int_ uint longlong ulonglong short ushort byte ubyte float16
    float32 float64 float128 half single double longdouble complex64
    complex128 complex256 csingle cdouble clongdouble object_ str_ bytes_
    unicode_ string_ void datetime64 timedelta64 number integer floating
    generic ndarray dtype matrix
    """.split()
)
#: numpy's pure math functions (ufuncs): a FunctionTransformer(np.log1p) pickles one. They
#: compute on numbers and nothing else.
_NUMPY_UFUNCS = frozenset(
    """
    log log1p log2 log10 exp expm1 exp2 sqrt cbrt square absolute fabs
    sign negative positive reciprocal floor ceil rint trunc sin cos tan
    arcsin arccos arctan arctan2 hypot sinh cosh tanh arcsinh arccosh arctanh
    deg2rad rad2deg degrees radians logaddexp logaddexp2 isnan isinf isfinite
    signbit copysign add subtract multiply divide true_divide floor_divide
    power float_power fmod mod remainder maximum minimum fmax fmin clip
    heaviside conjugate
    """.split()
)
#: what numpy itself exports under those and a few more names (np.abs is np.absolute)
_NUMPY_MATH = _NUMPY_UFUNCS | frozenset("abs mean median sum nanmean nanmedian".split())

_ALLOWED_EXACT = {
    "builtins": {"object", "set", "frozenset", "slice", "range", "complex", "bytearray",
                 "list", "dict", "tuple", "int", "float", "bool", "str", "bytes",
                 "NoneType"},  # skops names None's type
    "copyreg": {"_reconstructor", "__newobj__", "__newobj_ex__"},
    # protocols 0-2 write bytes as encode(text, 'latin1'); the scan refuses other codecs
    "_codecs": {"encode"},
    "codecs": {"encode"},
    "collections": {"OrderedDict", "defaultdict", "deque", "Counter"},
    "functools": {"partial"},
    "datetime": {"datetime", "date", "time", "timedelta", "timezone"},
    "decimal": {"Decimal"},
    "joblib.numpy_pickle": {"NumpyArrayWrapper"},
    "numpy": _NUMPY_SCALARS | _NUMPY_MATH,
    # where numpy 1.x (numpy.core) and 2.x (numpy._core) define the ufuncs, as pickles name them
    "numpy.core._multiarray_umath": _NUMPY_UFUNCS,
    "numpy._core._multiarray_umath": _NUMPY_UFUNCS,
    "numpy.core.umath": _NUMPY_UFUNCS,
    "numpy._core.umath": _NUMPY_UFUNCS,
    "numpy.core.multiarray": {"_reconstruct", "scalar"},
    "numpy._core.multiarray": {"_reconstruct", "scalar"},
    "numpy.core.numeric": {"_frombuffer"},
    "numpy._core.numeric": {"_frombuffer"},
    "numpy.core": {"_ufunc_reconstruct"},
    "numpy._core": {"_ufunc_reconstruct"},
    "numpy.ma.core": {"_mareconstruct", "MaskedArray", "MaskedConstant"},
    "numpy.ma": {"_mareconstruct", "MaskedArray", "MaskedConstant"},
    "numpy.random": {"__RandomState_ctor"},
    "numpy.random._pickle": {"__randomstate_ctor", "__bit_generator_ctor", "__generator_ctor"},
    "numpy.random.mtrand": {"RandomState"},
    "numpy.random._mt19937": {"MT19937"},
    "numpy.random._pcg64": {"PCG64", "PCG64DXSM"},
    "numpy.random._philox": {"Philox"},
    "numpy.random._sfc64": {"SFC64"},
    "numpy.random._generator": {"Generator"},
    "numpy.random.bit_generator": {"SeedSequence", "__pyx_unpickle_SeedSequence"},
}

_DUNDER_OK = frozenset({"__newobj__", "__newobj_ex__", "__randomstate_ctor", "__bit_generator_ctor",
                        "__generator_ctor", "__RandomState_ctor"})
#: Where the objects a model file may use are really defined.
_SAFE_ORIGINS = frozenset({"sklearn", "numpy", "scipy", "joblib", "pandas", "copyreg", "_codecs", "codecs",
                           "collections", "functools", "datetime", "decimal", *KNOWN_LIBRARIES})

_PANDAS_CLASS = re.compile(r"^[A-Z][A-Za-z0-9]*$")
_PANDAS_IO_CLASSES = frozenset({"ExcelFile", "ExcelWriter", "HDFStore"})
_SPARSE_CLASS = re.compile(r"^(csr|csc|coo|bsr|dia|dok|lil)_(matrix|array)$")
_STATS_CLASS = re.compile(r"^(rv_frozen|rv_continuous_frozen|rv_discrete_frozen|[a-z0-9_]+_gen)$")


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    module: str
    name: str
    reason: str = ""

    @property
    def refused(self) -> bool:
        return self.verdict in (Verdict.DANGEROUS, Verdict.UNTRUSTED, Verdict.CUSTOM)

    @property
    def dotted(self) -> str:
        return f"{self.module}.{self.name}"


#: Names that old releases wrote for what lives elsewhere today. scikit-learn up to 0.22
#: shipped joblib as sklearn.externals.joblib, so files saved with it name its array wrapper.
LEGACY_NAMES = {
    ("sklearn.externals.joblib.numpy_pickle", "NumpyArrayWrapper"): ("joblib.numpy_pickle", "NumpyArrayWrapper"),
}

#: scikit-learn's own compiled modules that some releases pickle under a bare module name
#: (built without their package path), with the releases that do. GradientBoosting and
#: HistGradientBoosting models of 1.5 to 1.8 name ``_loss.CyHalfBinomialLoss``; scikit-learn
#: itself finds it because importing the estimator registers ``_loss`` as an alias. Such a
#: name is scikit-learn's, never the author's code. (Found by pickling every estimator
#: family of each release, 1.3 to 1.9, and reading the names back.)
SKLEARN_BARE_MODULES = {
    "_loss": ("sklearn._loss._loss", ("1.5", "1.6", "1.7", "1.8")),
}


def normalise(module: str, name: str) -> tuple[str, str]:
    """The name as it is judged and loaded: Python 2 names mapped the way pickle's
    fix_imports does (e.g. __builtin__), and old releases' names of what lives elsewhere now."""
    if (module, name) in LEGACY_NAMES:
        return LEGACY_NAMES[(module, name)]
    if module in SKLEARN_BARE_MODULES:
        return SKLEARN_BARE_MODULES[module][0], name
    if (module, name) in _compat_pickle.NAME_MAPPING:
        module, name = _compat_pickle.NAME_MAPPING[(module, name)]
    elif module in _compat_pickle.IMPORT_MAPPING:
        module = _compat_pickle.IMPORT_MAPPING[module]
    return module, name


def _under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def top_package(module: str) -> str:
    return module.split(".", 1)[0]


def is_stdlib(module: str) -> bool:
    top = top_package(module)
    return top in sys.stdlib_module_names or top in ("__builtin__", "copy_reg", "exceptions")


def _is_installed(top: str) -> bool:
    # find_spec on a top-level name searches sys.path without running code.
    try:
        return importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        return False


class Policy:
    """Judges (module, name) pairs.

    trusted: extra top-level modules the user trusts (--trust).
    code_modules: module names provided by the user's --code files; they also
    stand in for ``__main__``.
    """

    def __init__(self, trusted=(), code_modules=()):
        self.trusted = frozenset(trusted)
        self.code_modules = frozenset(code_modules)

    def judge(self, module: str, name: str) -> Judgement:
        module, name = normalise(module, name)
        top = top_package(module)

        if not _IDENT.match(top) or not all(_IDENT.match(p) for p in module.split(".")):
            return Judgement(Verdict.DANGEROUS, module, name, "a malformed module name")
        parts = name.split(".")
        if not all(_IDENT.match(p) for p in parts):
            return Judgement(Verdict.DANGEROUS, module, name, "a malformed name")

        # The user's own code (and __main__, which their scripts pickled from).
        if top == "__main__" or top in self.code_modules:
            if self.code_modules:
                return Judgement(Verdict.TRUSTED, module, name, "from the code you supplied")
            return Judgement(Verdict.CUSTOM, module, name, "a class defined in the author's script")

        # Dotted names walk attributes (a.b resolves getattr(a, 'b')): a way to
        # reach os through any module that imported it. Models never need it.
        if len(parts) > 1:
            return Judgement(Verdict.DANGEROUS, module, name,
                             "reaches through another module's attributes")

        if top in self.trusted and top not in CURATED_PACKAGES and not is_stdlib(module):
            return Judgement(Verdict.TRUSTED, module, name, "a module you trusted")

        if name in DANGEROUS_NAMES or (name.startswith("__") and name not in _DUNDER_OK
                                       and not name.startswith("__pyx_unpickle_")):
            return Judgement(Verdict.DANGEROUS, module, name, _danger_reason(module, name))

        if any(_under(module, d) for d in _DENIED_SUBMODULES):
            return Judgement(Verdict.DANGEROUS, module, name, "a helper that models never need")

        exact = _ALLOWED_EXACT.get(module)
        if exact is not None and name in exact:
            return Judgement(Verdict.ALLOWED, module, name)
        if module == "numpy.dtypes" and name.endswith("DType"):
            return Judgement(Verdict.ALLOWED, module, name)
        if _under(module, "sklearn"):
            return Judgement(Verdict.ALLOWED, module, name)
        if _under(module, "scipy.sparse") and _SPARSE_CLASS.match(name):
            return Judgement(Verdict.ALLOWED, module, name)
        if _under(module, "scipy.stats") and _STATS_CLASS.match(name):
            return Judgement(Verdict.ALLOWED, module, name)
        if (_under(module, "pandas.core") or _under(module, "pandas._libs")) and not name.startswith(("read_", "to_")):
            return Judgement(Verdict.ALLOWED, module, name)
        if module in ("pandas", "pandas.arrays") and _PANDAS_CLASS.match(name) and name not in _PANDAS_IO_CLASSES:
            return Judgement(Verdict.ALLOWED, module, name)  # pandas 3 pickles frames as pandas.DataFrame
        if top in KNOWN_LIBRARIES:
            return Judgement(Verdict.KNOWN_LIB, module, name)

        if is_stdlib(module) or top in CURATED_PACKAGES:
            return Judgement(Verdict.DANGEROUS, module, name, _danger_reason(module, name))
        if _is_installed(top):
            return Judgement(Verdict.UNTRUSTED, module, name, "a module DeskML does not know")
        return Judgement(Verdict.CUSTOM, module, name, "a module that is not installed here")

    def allows_resolved(self, requested_module: str, obj) -> bool:
        """Second check in the loading child: the object a module handed out
        must really be defined in an allowed family, not be a re-export of,
        say, ``subprocess.check_output`` from inside a trusted package."""
        requested_top = top_package(normalise(requested_module, "")[0])
        if requested_top in self.trusted or requested_top in self.code_modules:
            return True
        real = getattr(obj, "__module__", None)
        if real is None:
            return True  # plain values carry no code
        real_top = top_package(real)
        if real_top == "builtins":
            return getattr(obj, "__name__", "") in _ALLOWED_EXACT["builtins"]
        if real_top == "__main__":
            return bool(self.code_modules)
        return real_top in _SAFE_ORIGINS or real_top in self.code_modules


#: What a model file may *call* inside the big packages: classes, Cython's
#: unpickle helpers and reconstructors. Any other function of theirs, called
#: while loading, would be a gadget (trusted code run with the file's arguments).
_CONSTRUCTOR = re.compile(r"^(_*[A-Z]|__pyx_unpickle_|_*(new|unpickle))")
_CALL_CHECKED = ("sklearn", "pandas", *KNOWN_LIBRARIES)
#: Classes of scikit-learn whose names look like functions. A ColumnTransformer keeps a
#: make_column_selector object. The loading child checks that each really is a class.
CLASSES_NAMED_LIKE_FUNCTIONS = frozenset({
    ("sklearn.compose._column_transformer", "make_column_selector"),
    ("sklearn.utils._encode", "_nandict"),
})


def judge_call(module: str, name: str) -> Judgement | None:
    """A refusal when the file calls a helper function of a big package, else None."""
    module, name = normalise(module, name)
    if (module, name) in CLASSES_NAMED_LIKE_FUNCTIONS:
        return None
    if top_package(module) in _CALL_CHECKED and not _CONSTRUCTOR.match(name):
        return Judgement(Verdict.DANGEROUS, module, name,
                         "runs a helper function while loading, which models never do")
    return None


def _danger_reason(module: str, name: str) -> str:
    top = top_package(module)
    if top in ("os", "posix", "nt", "subprocess", "pty", "commands", "popen2", "multiprocessing"):
        return "can run programs on your computer"
    if top in ("socket", "http", "urllib", "ftplib", "smtplib", "telnetlib", "ssl", "asyncio", "webbrowser"):
        return "can connect to the network"
    if top in ("shutil", "pathlib", "io", "tempfile", "glob", "fileinput"):
        return "can read, change or delete files"
    if top in ("importlib", "runpy", "pickle", "_pickle", "marshal", "code", "codeop", "types", "ctypes", "zipimport", "pkgutil"):
        return "can load and run other code"
    if name in ("eval", "exec", "compile", "execfile"):
        return "can run any Python code"
    if name in ("getattr", "setattr", "delattr", "__import__", "globals", "vars", "locals",
                "attrgetter", "methodcaller"):
        return "can reach any function on your computer"
    if name in ("system", "popen", "Popen", "call", "check_call", "check_output", "run", "spawn"):
        return "can run programs on your computer"
    if name in ("load", "loads", "read_pickle", "fromfile", "memmap"):
        return "can open further files, which could contain anything"
    return "is not something a model needs"

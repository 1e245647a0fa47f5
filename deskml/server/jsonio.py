"""JSON in and out of the service: orjson where the image has it, the stdlib otherwise."""
import json

try:  # orjson is installed in the image; the stdlib is the fallback
    import orjson

    def dumps(obj):
        return orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY)

    loads = orjson.loads
    NUMPY_NATIVE = True  # numeric numpy arrays are written as they are
except ImportError:  # pragma: no cover - depends on the environment
    def dumps(obj):
        return json.dumps(obj, separators=(",", ":")).encode()

    loads = json.loads
    NUMPY_NATIVE = False

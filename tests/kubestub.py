"""What kubectl asks a cluster before a client-side dry run: the API's discovery documents
(which kinds exist, in which groups, namespaced or not) and the live object (none: 404).
No cluster can run here; this answers those questions on 127.0.0.1, from a list of the
kinds the exports use, so that ``kubectl apply --dry-run=client`` parses, maps and
prepares every object as it would against a real API server. The objects' fields are
checked against the API schemas by kubernetes-validate, not by this."""
from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

#: group/version -> [(kind, plural, namespaced)]
KINDS = {
    "v1": [("ConfigMap", "configmaps", True), ("Service", "services", True), ("Secret", "secrets", True),
           ("PersistentVolumeClaim", "persistentvolumeclaims", True), ("Namespace", "namespaces", False)],
    "apps/v1": [("Deployment", "deployments", True)],
    "autoscaling/v2": [("HorizontalPodAutoscaler", "horizontalpodautoscalers", True)],
    "serving.kserve.io/v1beta1": [("InferenceService", "inferenceservices", True)],
}
VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]


def _resources(group_version: str) -> dict:
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version,
            "resources": [{"name": plural, "singularName": kind.lower(), "namespaced": namespaced, "kind": kind,
                           "verbs": VERBS} for kind, plural, namespaced in KINDS[group_version]]}


class _Handler(BaseHTTPRequestHandler):
    seen: list = []

    def log_message(self, *args):
        pass

    def _json(self, status: int, doc: dict) -> None:
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        path = self.path.split("?")[0].rstrip("/")
        self.seen.append(path)
        groups = {gv.split("/")[0]: gv for gv in KINDS if "/" in gv}
        if path == "/version":
            return self._json(200, {"major": "1", "minor": "37", "gitVersion": "v1.37.0"})
        if path == "/api":
            return self._json(200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": self.headers.get("Host", "127.0.0.1")}]})
        if path == "/apis":
            return self._json(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                {"name": g, "versions": [{"groupVersion": gv, "version": gv.split("/")[1]}],
                 "preferredVersion": {"groupVersion": gv, "version": gv.split("/")[1]}} for g, gv in groups.items()]})
        if path == "/api/v1":
            return self._json(200, _resources("v1"))
        if path.startswith("/apis/") and path[len("/apis/"):] in KINDS:
            return self._json(200, _resources(path[len("/apis/"):]))
        return self._json(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound",
                                "code": 404, "message": "not found"})


@contextmanager
def discovery():
    """The address of a discovery-only API server on 127.0.0.1, and the paths it was asked."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    _Handler.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", _Handler.seen
    finally:
        server.shutdown()
        server.server_close()

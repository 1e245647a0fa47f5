"""Prometheus counters and a latency histogram, kept in memory (``GET /metrics``)."""

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    """Prometheus counters and a latency histogram, kept in memory."""

    def __init__(self):
        self.requests = {}          # (endpoint, status) -> count
        self.rows = 0
        self.buckets = [0] * len(BUCKETS)
        self.count = 0
        self.total = 0.0
        self.batches = 0

    def observe(self, endpoint, status, seconds):
        key = (endpoint, status)
        self.requests[key] = self.requests.get(key, 0) + 1
        if endpoint.startswith("/v1/predict"):
            self.count += 1
            self.total += seconds
            for i, b in enumerate(BUCKETS):
                if seconds <= b:
                    self.buckets[i] += 1

    def text(self, name, version):
        lab = f'model="{name}",version="{version}"'
        out = ["# HELP deskml_requests_total HTTP requests by endpoint and status.",
               "# TYPE deskml_requests_total counter"]
        for (ep, st), n in sorted(self.requests.items()):
            out.append(f'deskml_requests_total{{{lab},endpoint="{ep}",status="{st}"}} {n}')
        errors = sum(n for (ep, st), n in self.requests.items() if st >= 400)
        out += ["# HELP deskml_errors_total Requests answered with an error.", "# TYPE deskml_errors_total counter",
                f"deskml_errors_total{{{lab}}} {errors}",
                "# HELP deskml_rows_predicted_total Rows predicted.", "# TYPE deskml_rows_predicted_total counter",
                f"deskml_rows_predicted_total{{{lab}}} {self.rows}",
                "# HELP deskml_predict_batches_total predict() calls (concurrent requests share one).",
                "# TYPE deskml_predict_batches_total counter",
                f"deskml_predict_batches_total{{{lab}}} {self.batches}",
                "# HELP deskml_request_seconds Prediction request latency.",
                "# TYPE deskml_request_seconds histogram"]
        for b, n in zip(BUCKETS, self.buckets):
            out.append(f'deskml_request_seconds_bucket{{{lab},le="{b}"}} {n}')
        out += [f'deskml_request_seconds_bucket{{{lab},le="+Inf"}} {self.count}',
                f"deskml_request_seconds_sum{{{lab}}} {self.total:.6f}",
                f"deskml_request_seconds_count{{{lab}}} {self.count}"]
        return ("\n".join(out) + "\n").encode()

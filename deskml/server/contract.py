"""The contract between DeskML on the host and the service in a model's image.

One place for the facts both sides must agree on: where the service listens,
what it is told through its environment, how it reports being ready, and the
labels DeskML puts on images and containers to find them again. The host side
(``deskml.core``) reads this module; the service imports nothing of the host.
"""

#: The port the service listens on inside a container (published, or set with DESKML_PORT).
SERVER_PORT = 8000
#: Answers 200 once the model has answered its own example row (the self-test).
HEALTH_PATH = "/health"

#: A service that cannot start (its model does not load, or cannot predict its own example
#: row) writes one line starting with this to its log, then a JSON object {stage, type,
#: message}, and exits with EXIT_START_FAILED: the host stops it and says why, instead of
#: restarting it forever. Stages: "load", "describe", "self-test" ("score" for ``--score``).
START_FAILED = "DESKML-START-FAILED "
EXIT_START_FAILED = 3

#: ``--score ROWS.json`` (score.py) prints its result on one line starting with this.
SCORES_MARK = "DESKML-SCORES "

#: Beside a .skops model: the types its service may load (those DeskML's policy accepted).
SKOPS_TRUSTED_FILE = "trusted-types.json"

#: The prediction journal (see journal.py): the format of its lines, when a file is full and
#: the next begins, and where a container finds its folder (the host's, mounted).
JOURNAL_FORMAT = 2
JOURNAL_ROTATE_BYTES = 64 << 20
JOURNAL_MOUNT = "/journal"
#: Answers of the prediction routes carry the prediction ids; the app says where a
#: request comes from ("form", "batch") in this header.
SOURCE_HEADER = "x-deskml-source"

# -- the service's environment ------------------------------------------------------------
ENV_HOST = "DESKML_HOST"                # where to listen (127.0.0.1 unless the user opted in)
ENV_PORT = "DESKML_PORT"
ENV_API_KEY = "DESKML_API_KEY"          # required to listen beyond this computer
ENV_IN_CONTAINER = "DESKML_IN_CONTAINER"
ENV_JOURNAL = "DESKML_JOURNAL"          # a folder, "-" (standard output) or "off"
#: a folder of the image the service's user owns: a volume mounted there takes that owner, so
#: the journal can be written to it when the image runs elsewhere (Compose, Swarm, Kubernetes)
JOURNAL_DIR = "/var/lib/deskml/journal"

# -- labels on images and containers ----------------------------------------------------------
LABEL_MODEL = "io.deskml.model.name"
LABEL_VERSION = "io.deskml.model.version"
LABEL_SHA256 = "io.deskml.model.sha256"
LABEL_FILE = "io.deskml.model.file"
LABEL_SKLEARN = "io.deskml.sklearn.version"
LABEL_PYTHON = "io.deskml.python.version"
LABEL_REQUIREMENTS = "io.deskml.requirements"
LABEL_MANAGED = "io.deskml.managed"
LABEL_PORT = "io.deskml.port"
LABEL_LAN = "io.deskml.lan"
LABEL_NETWORK = "io.deskml.network"
#: "score": a one-off container that predicts the reference data (``--score``), not a service
LABEL_ROLE = "io.deskml.role"
#: "env": the image's service listens where ENV_HOST / ENV_PORT say (images before it: port 8000 only)
LABEL_LISTEN = "io.deskml.server.listen"

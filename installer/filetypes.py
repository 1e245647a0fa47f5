"""The model files DeskML opens, one list for every platform's file association (the
freedesktop MIME type, the macOS document type and exported UTI, the Windows installer's
extensions), so that the three never disagree."""

MIME_TYPE = "application/x-deskml-model"
UTI = "org.deskml.model"
EXTENSIONS = ("joblib", "pkl", "skops")
DESCRIPTION = "Machine-learning model"
APP_ID = "org.deskml.DeskML"

"""DeskML: put a scikit-learn model file to work on your own computer, safely."""

__version__ = "0.1.0"

# DeskML's own hook for sklearn.metrics, in place of the contrib one, whose
# collect_submodules("sklearn.metrics._pairwise_distances_reduction") imports
# scikit-learn in a child process (5.6 s of the bundle's build here). The bundle
# already names every scikit-learn submodule as a hidden import (bundle.py), those
# included.
hiddenimports = []

"""DeskML's core: model files, the safety scan, build, runtime, registry.

Imports no Qt (tests/test_architecture.py keeps it so): the command line and
the app drive the same functions. Keep this package's import light: the model
loading child process imports it too.
"""

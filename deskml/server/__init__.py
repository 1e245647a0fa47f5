"""The serving app that runs inside a model's container.

It imports nothing from deskml.core, deskml.gui or deskml.cli (a test keeps it
so): the image copies this package alone. ``introspect`` also runs on the host,
in the child process that loads a model for inspection, so the schema the app
shows is the one the service uses.
"""

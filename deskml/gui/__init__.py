"""DeskML's window: thin pages and widgets over deskml.core.

Long jobs (inspection, later builds and scoring) run off the UI thread in
workers (``workers.py``); workers never touch widgets, they only return data
or a DeskMLError, which the page shows inline.
"""

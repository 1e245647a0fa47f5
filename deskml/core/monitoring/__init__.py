"""Monitoring: the prediction journal on the host, and what is read from it.

``store`` (ingest the service's appended files into a queryable store, retention,
erasure), ``queries`` (summaries and series for the screen, the command line and
the report), ``alerts`` (rules, evaluated with any clock), ``sketch`` (quantiles
without keeping values). No Qt here: the app and the command line share it.
"""

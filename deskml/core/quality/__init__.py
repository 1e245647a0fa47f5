"""Is the model still right? Drift of its inputs against the data it learned from, data
quality, and (later) accuracy from real outcomes. Pure computation on tables: the journal,
the command line and the app all hand it data frames."""

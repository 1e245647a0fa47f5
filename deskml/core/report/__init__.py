"""What a model owes the people it answers to: the pre-release check (``check.py``); the
one-page report and the model card come next."""

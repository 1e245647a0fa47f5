"""The deploy wizard: one page class per step, each page answers one question.

1. Your model  — is it safe, what does it predict, which inputs (and reference data)?
2. Package     — what name and version? (builds, with progress and Cancel)
3. Start       — where is it? (starts it, shows the address and ready-made calls)
4. Try it      — what does it say for these inputs?

Pages start core jobs with ``gui.workers`` and only show what comes back.
"""
from .deploy import DeployWizard

__all__ = ["DeployWizard"]

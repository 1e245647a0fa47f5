"""Intake: is a model file safe, and what is it? (format sniffing, the static scan,
the allow-list, loading in a limited child process, ModelInfo)."""

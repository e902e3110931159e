"""Evaluation layer: held-out comparison with baselines, summaries, predictions, interpretation.

Steps: ``evaluate``, ``summarize``, ``predict``, ``interpret`` (its methods: ``attribution``).
Imports ``model``, ``data`` and below.
"""

"""Evaluation layer: held-out comparison with baselines, summaries, predictions, interpretation.

Steps: ``evaluate``, ``summarize``, ``predict``, ``interpret``. Imports ``model``, ``data`` and below.
"""

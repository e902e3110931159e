"""Simulation: a synthetic Arabidopsis-like dataset with a planted regulatory grammar.

Step: ``dataset`` (``tfvocab simulate``); pieces: ``genome``, ``grammar``, ``tracks``.
Imports only the core.
"""

"""Thin click wrappers, one module per pipeline step; each exposes a click command named ``cli``.

A command parses options, calls library functions in ``tfvocab.<module>`` and writes outputs;
no scientific logic lives here.
"""

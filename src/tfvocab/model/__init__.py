"""Model layer: the Siamese transformer, its grammar features, training, scoring and inference.

Steps: ``train``, ``tune``. Imports ``data`` and below.
"""

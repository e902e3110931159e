"""tfvocab: gene co-expression from DAP-seq TF binding via a learned TF vocabulary.

Coordinates are 0-based half-open everywhere. Window order is 5'->3' in the gene's
orientation (upstream first). See ``tfvocab.coords`` for the promoter/window geometry.
"""

__version__ = "0.1.0"

"""Make the helpers of tests/nextflow (lsp.py, nfparse.py) importable by its tests."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

"""``python -m tfvocab``: the same command line as ``tfvocab``."""
from .cli import main

if __name__ == "__main__":
    main()

"""Holds the ``sitecustomize`` that ``ember run`` puts on PYTHONPATH for its child processes."""

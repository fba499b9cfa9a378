"""The ``redprop`` command line (see main.py)."""

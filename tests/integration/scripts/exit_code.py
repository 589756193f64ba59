"""Exits with the status given on the command line."""

import sys

import torch  # noqa: F401

print("before exit")
sys.exit(int(sys.argv[1]))

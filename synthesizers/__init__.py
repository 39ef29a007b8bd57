"""Synthesizers: a base class, one module per model, and one explicit registry."""

import os

# Same seed, same bytes: Intel MKL (torch's CPU BLAS) may pick code paths by memory alignment
# and shrink its thread team under load, both of which change float rounding from run to run.
# Conditional numerical reproducibility (strict, on the best instruction set) and a fixed thread
# team rule both out; set before torch loads MKL, and an operator's own setting wins.
os.environ.setdefault("MKL_CBWR", "AUTO,STRICT")
os.environ.setdefault("MKL_DYNAMIC", "FALSE")

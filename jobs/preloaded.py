"""Imported last by the runner's fork server, after the synthesis stack it preloads.

``gc.freeze()`` moves every object imported so far into the collector's permanent generation:
the job processes forked from the server then never walk (and so never write to) those
objects' pages in a garbage collection, which would copy each shared page on first touch.
"""

from __future__ import annotations

import gc

gc.collect()
gc.freeze()

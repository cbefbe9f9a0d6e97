"""The typed contract every layer shares: vocabularies, the run request and result, the error bases.

The lowest layer of the tree: it imports nothing of ours, and everything may import it
(the web process included: no TensorFlow, nothing happens at import time).
"""

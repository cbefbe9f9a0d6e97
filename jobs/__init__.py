"""Entry points that do work: the CLI, the clock, and the training pipeline.

Only this package imports ``models`` (and so TensorFlow).
"""

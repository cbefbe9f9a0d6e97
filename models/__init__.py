"""Windowing, network construction, training, evaluation and serialisation.

numpy, pandas and keras only. Nothing here reads the environment or the store:
hyperparameters, prices and paths are arguments. Only ``jobs`` imports this package.
"""

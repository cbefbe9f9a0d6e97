"""Market data: where prices come from and what a valid price is.

Price sources (Yahoo, the offline sample, CSV files), the price-frame shape and its
validation, the ticker pattern and the NYSE trading calendar. It names no other
package of ours: the store, configuration and the entry points build on it.
"""

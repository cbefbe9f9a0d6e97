"""The Dash app: reads precomputed outputs from the store and draws them; never imports TensorFlow."""

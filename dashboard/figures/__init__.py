"""Pure figure builders: payloads / DataFrames in, ``go.Figure`` out; no store, no Dash."""

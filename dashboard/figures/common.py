"""Colours, the split-period shading and the empty figure shared by every chart."""
from __future__ import annotations

import plotly.graph_objects as go

from contract.vocab import CELL_LABELS, COLOURS
from contract.outputs import BASELINE_LABELS, SplitDates

COLORS = {"actual": "#2c3e50", **COLOURS}  # every cell's and baseline's from contract.vocab
PERIOD_TEXT = {"promotion": "promotion window", "test": "reported origins"}  # with a rolling evaluation
LABEL_ROW = 14  # px between the rows of period labels
PERIOD_FILL = {"train": "rgba(52,152,219,0.07)", "validation": "rgba(243,156,18,0.12)",
               "promotion": "rgba(155,89,182,0.10)", "test": "rgba(127,140,141,0.08)"}  # a neutral grey: pink read as a warning


def label(key: str) -> str:
    """Display name of a cell or baseline key."""
    return CELL_LABELS.get(key) or BASELINE_LABELS.get(key) or key.capitalize()


TITLE_CHARS = 40  # a longer title is cut off on a 390 px phone (Plotly never wraps one): it goes on two lines


def wrapped(title: str, width: int = TITLE_CHARS) -> str:
    """``title`` broken at spaces into lines of at most ``width`` characters (one already broken is kept)."""
    if len(title) <= width or "<br>" in title:
        return title
    lines = [""]
    for word in title.split(" "):
        if lines[-1] and len(lines[-1]) + 1 + len(word) > width:
            lines.append(word)
        else:
            lines[-1] = f"{lines[-1]} {word}".lstrip()
    return "<br>".join(lines)


def base_layout(fig: go.Figure, title: str | None = None, height: int = 380) -> go.Figure:
    title = wrapped(title) if title else title
    fig.update_layout(
        title=title,
        template="plotly_white",
        height=height,
        margin=dict(l=55, r=20, t=(30 + 20 * (title.count("<br>") + 1)) if title else 20, b=40),
        # Legends under the plot so they never collide with the title.
        legend=dict(orientation="h", yanchor="top", y=-0.18, x=0),
        hovermode="x unified",
    )
    return fig


def add_split_shading(fig: go.Figure, split: SplitDates, end: str | None = None, label_periods: bool = True) -> go.Figure:
    """Shade train / validation / test and draw the train/test boundary as a labelled line.

    ``split`` is the ``SplitDates`` of a predictions payload; ``end`` extends the
    test shading (e.g. to the last forecast day).
    """
    report = split.get("report_start")  # rolling evaluation: promotion window, then reported origins
    periods = [
        ("train", split["train_start"], split["val_start"]),
        ("validation", split["val_start"], split["test_start"]),
        *([("promotion", split["test_start"], report)] if report else []),
        ("test", report or split["test_start"], end or split["test_end"]),
    ]
    for row, (name, x0, x1) in zip((0, 1, 2, 0), periods):
        # The later periods' labels end at their period's right edge: started at the left one, they ran off the
        # right of a phone's screen when the whole history is shown.
        corner = "top left" if name in ("train", "validation") else "top right"
        fig.add_vrect(
            x0=x0, x1=x1, fillcolor=PERIOD_FILL[name], line_width=0, layer="below",
            annotation_text=(PERIOD_TEXT.get(name, name) if report else name) if label_periods else None,
            # Neighbouring labels on rows of their own: a short period (the promotion window) put its label on top
            # of the next one's when the whole history is shown, most of all on a phone.
            annotation_position=corner, annotation_yshift=-LABEL_ROW * row,
            annotation_font=dict(size=11, color="#7b8a8b"),
        )
    fig.add_vline(x=split["test_start"], line=dict(color="#e74c3c", width=1.5, dash="dash"))
    fig.add_annotation(  # left of the line, in two short lines: right of it ran off a phone's screen
        x=split["test_start"], y=0, yref="paper", yanchor="bottom", xanchor="right", showarrow=False, align="right",
        text=f"train/test split<br>{split['test_start']}", font=dict(size=11, color="#e74c3c"), bgcolor="rgba(255,255,255,0.8)",
    )
    return fig


def empty_figure(message: str, height: int = 300) -> go.Figure:
    """A blank chart that says why it is blank (instead of an error)."""
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper", font=dict(size=14))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return base_layout(fig, height=height)

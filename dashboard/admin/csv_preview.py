"""The CSV upload's preview: a table of the file's rows with every value that would change a stored
day highlighted (stored -> file), and a table of those changes (day, column, old, new, change)."""
from __future__ import annotations

import pandas as pd
from dash import dash_table, html

from marketdata.frames import PRICE_COLUMNS

from dashboard import ids
from dashboard.admin.csv_import import Preview

MAX_LISTED_ROWS = 1000  # beyond this the rows table lists only the new and changed days
HIGHLIGHT = {"backgroundColor": "#fff3cd", "color": "#212529", "fontWeight": "bold"}
ARROW = " \u2192 "  # stored -> file, inside a changed cell
_CELL = {"fontSize": 13, "padding": "3px 6px", "textAlign": "right", "fontFamily": "monospace"}


def _value(column: str, x: float) -> str:
    return f"{int(x):,}" if column == "volume" else f"{x:,.4f}".rstrip("0").rstrip(".")


def _rows(p: Preview) -> tuple[list[dict[str, str]], int]:
    """The file's rows as shown (changed cells 'old -> new'), and how many unchanged rows were left out."""
    changed = {(c.day, c.column): c for c in p.changes}
    rows, left_out = [], 0
    for ts, values in zip(pd.DatetimeIndex(p.frame.index), p.frame.to_dict("records")):
        day = ts.date()
        cells = {col: changed.get((day, col)) for col in PRICE_COLUMNS}
        status = ("changed" if any(cells.values()) else "same") if day in p.stored_days else "new"
        if len(p.frame) > MAX_LISTED_ROWS and status == "same":
            left_out += 1
            continue
        row = {"date": str(day), "status": status}
        for col, change in cells.items():
            row[col] = (_value(col, change.old) + ARROW + _value(col, change.new)) if change else _value(col, values[col])
        rows.append(row)
    return rows, left_out


def rows_table(p: Preview) -> html.Div:
    rows, left_out = _rows(p)
    columns = [{"name": "Date", "id": "date"}, *({"name": c.capitalize(), "id": c} for c in PRICE_COLUMNS),
               {"name": "Status", "id": "status"}]
    note = f" ({left_out:,} stored, unchanged rows not listed)" if left_out else ""
    return html.Div([
        html.Div(f"The file's rows{note}; a highlighted cell is a stored value the file changes (stored \u2192 file); "
                 "status: new day, same as stored, or changed:",
                 className="mt-2"),
        dash_table.DataTable(  # type: ignore[attr-defined]
            id=ids.Admin.UPLOAD_ROWS, data=rows, columns=columns, page_size=8, page_action="native",
            style_cell={**_CELL, "whiteSpace": "normal", "height": "auto"}, style_header={"fontWeight": "bold"},
            style_table={"overflowX": "auto"},
            style_data_conditional=[{"if": {"filter_query": f"{{{c}}} contains '\u2192'", "column_id": c}, **HIGHLIGHT}
                                    for c in PRICE_COLUMNS]),
    ])


def changes_table(p: Preview) -> html.Div:
    data = [{"day": str(c.day), "column": c.column, "old": _value(c.column, c.old), "new": _value(c.column, c.new),
             "change": f"{c.rel_change:+.2%}"} for c in p.changes]
    columns = [{"name": n, "id": k} for k, n in
               (("day", "Day"), ("column", "Column"), ("old", "Stored"), ("new", "File"), ("change", "Change"))]
    return html.Div([
        html.Div(f"{len(p.changes):,} stored values the file changes:", className="mt-2"),
        dash_table.DataTable(  # type: ignore[attr-defined]
            id=ids.Admin.UPLOAD_CHANGES, data=data, columns=columns, page_size=10, page_action="native",
            style_cell=_CELL, style_header={"fontWeight": "bold"}, style_table={"overflowX": "auto"},
            style_data_conditional=[{"if": {"column_id": c}, **HIGHLIGHT} for c in ("new", "change")]),
    ])


def summary(p: Preview) -> html.P:
    days = "day" if p.differing_rows == 1 else "days"
    changes = (f", {p.differing_rows:,} stored {days} it changes (imported only if you confirm replacing them)"
               if p.differing_rows else "")
    return html.P(f"{p.filename}: {p.rows:,} valid rows for {p.ticker}, {p.first} to {p.last}: {p.new_rows:,} new "
                  f"days, {p.unchanged_rows:,} already stored unchanged{changes}. Nothing is written until you "
                  f"{'confirm' if p.differing_rows else 'import'}.", id=ids.Admin.UPLOAD_SUMMARY, className="mb-1")


def view(p: Preview) -> html.Div:
    return html.Div([summary(p), *([changes_table(p)] if p.changes else []), rows_table(p)])


def replace_label(n: int) -> str:
    return "Replace this 1 day" if n == 1 else f"Replace these {n:,} days"

"""The fields of a stored model are declared once (``store.registry.ModelFields``): pin them to the table."""
from __future__ import annotations

from dataclasses import fields

from store.registry import ChampionChange, ModelFields, ModelInfo, NewModel
from store.tables import ChampionEvent, ModelRecord


def names(cls: type) -> set[str]:
    return {f.name for f in fields(cls)}


def test_new_model_and_model_info_cover_the_models_table():
    table = {c.name for c in ModelRecord.__table__.columns}
    # What training hands in, plus what the store assigns, is every column.
    assert names(NewModel) | {"id", "version", "created_at"} == table
    # What a reader gets is every column but the bytes, plus the champion flag.
    assert names(ModelInfo) == table - {"keras_bytes"} | {"is_champion"}
    assert names(ModelFields) == names(NewModel) & names(ModelInfo)


def test_champion_change_is_the_event_row():
    assert names(ChampionChange) == {c.name for c in ChampionEvent.__table__.columns}

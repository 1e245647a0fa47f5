"""Reference data (CSV or Excel) fills in examples, ranges and choices; bad files get a message."""
from __future__ import annotations

import pandas as pd
import pytest

from deskml.core.errors import UsageError
from deskml.core.intake.inspection import inspect_file
from deskml.core.reference import read_table, with_hints


def test_csv_and_excel_give_the_same_hints(demo, tmp_path):
    info = inspect_file(demo.model)
    frame = pd.read_csv(demo.reference)
    xlsx = tmp_path / "ref.xlsx"
    frame.to_excel(xlsx, index=False)
    semi = tmp_path / "ref-semicolon.csv"
    frame.to_csv(semi, sep=";", index=False)  # a European spreadsheet's CSV
    hints = [with_hints(info.inputs, read_table(p)) for p in (demo.reference, xlsx, semi)]
    assert hints[0] == hints[1] == hints[2]
    age = next(i for i in hints[0] if i["name"] == "age")
    assert (age["min"], age["max"], age["example"]) == (frame.age.min(), frame.age.max(), frame.age.median())
    store = next(i for i in hints[0] if i["name"] == "store")
    assert store["categories"] == sorted(frame.store.unique()) and store["example"] == frame.store.mode()[0]
    assert next(i for i in info.inputs if i["name"] == "age")["min"] is None  # the model's own list is untouched


@pytest.mark.parametrize("content,phrase", [
    (b"", "cannot be read as a table"),
    (b"age,store\n", "has no rows"),
    (b"\xff\xfe\x00garbage\x00\xff", "not UTF-8"),
])
def test_bad_files_get_a_message(tmp_path, content, phrase):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(content)
    with pytest.raises(UsageError) as err:
        read_table(bad)
    assert phrase in err.value.headline


def test_data_without_an_input_is_named(demo, tmp_path):
    info = inspect_file(demo.model)
    f = tmp_path / "part.csv"
    pd.read_csv(demo.reference).drop(columns="age").to_csv(f, index=False)
    with pytest.raises(UsageError) as err:
        with_hints(info.inputs, read_table(f))
    assert "no column 'age'" in err.value.headline and "visits_per_month" in err.value.what_to_do
    with pytest.raises(UsageError, match="There is no file"):
        read_table(tmp_path / "missing.csv")

import numpy as np
import pandas as pd
import pytest

from helpers.data import cleaning
from helpers.paths import RunLayout
from helpers.report.chapter import Chapter
from helpers.report.export import ENCODING, escape_formulas, read_csv, unescape_formulas, write_csv

DANGEROUS = ['=HYPERLINK("http://x","y")', "-5 days", "@home", "+86 138", "\tindented", "\rreturn",
             "'=already quoted", "''-two quotes", "'plain quote", "plain", "-12.5", None]


def body_lines(path) -> list[str]:
    return path.read_bytes().decode("utf-8-sig").splitlines()


def test_round_trip_gives_the_original_values(tmp_path):
    frame = pd.DataFrame({"product": DANGEROUS, "amount": np.linspace(-3.5, 7.5, len(DANGEROUS)),
                          "units": range(-6, len(DANGEROUS) - 6)})
    back = read_csv(write_csv(frame, tmp_path / "products.csv"))
    assert back["product"].tolist()[:-1] == DANGEROUS[:-1] and pd.isna(back["product"].iloc[-1])
    pd.testing.assert_series_equal(back["amount"], frame["amount"])
    pd.testing.assert_series_equal(back["units"], frame["units"])


def test_formula_text_gets_a_quote_in_the_file_bytes(tmp_path):
    frame = pd.DataFrame({"product_name": ['=HYPERLINK("http://x","y")', "Router R5"], "units": [3, -2]})
    raw = tmp_path / "raw.csv"
    frame.to_csv(raw, index=False)  # what the report wrote before
    assert b'"=HYPERLINK(""http://x"",""y"")",3' in raw.read_bytes()
    data = write_csv(frame, tmp_path / "safe.csv").read_bytes()
    assert b'"\'=HYPERLINK(""http://x"",""y"")",3\r\n' in data
    assert b"Router R5,-2" in data   # safe text and a negative number are written as before


def test_every_dangerous_first_character_is_quoted(tmp_path):
    frame = pd.DataFrame({"note": ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "a=1", " =1", "'x"]})
    lines = write_csv(frame, tmp_path / "notes.csv").read_bytes().decode(ENCODING).split("\r\n")
    assert lines[1:] == ["'=1+1", "'+1", "'-1", "'@SUM(A1)", "'\tx",
                         "\"'\rx\"",   # quoted, so that no reader splits the row at the carriage return
                         "a=1", " =1", "'x", ""]
    assert read_csv(tmp_path / "notes.csv")["note"].tolist() == frame["note"].tolist()


def test_numeric_columns_are_unchanged_in_the_bytes(tmp_path):
    frame = pd.DataFrame({"net_amount": [-1200.5, 0.0, 3.25, np.nan], "orders": [-1, 0, 2, 5],
                          "share": [0.1, -0.25, 1e-7, 1.0], "is_return": [True, False, True, False]})
    plain = tmp_path / "plain.csv"
    frame.to_csv(plain, index=False)
    safe = write_csv(frame, tmp_path / "safe.csv")
    # the same bytes but for the byte-order mark and CRLF line ends
    assert safe.read_bytes() == b"\xef\xbb\xbf" + plain.read_bytes().replace(b"\n", b"\r\n")
    pd.testing.assert_frame_equal(read_csv(safe), frame)


def test_column_names_object_and_category_columns(tmp_path):
    frame = pd.DataFrame({"=industry": pd.Categorical(["=x", "retail", "=x"]),
                          "mixed": pd.Series([-5, "-5 days", None], dtype=object), "-": [1, 2, 3]})
    escaped = escape_formulas(frame)
    assert list(escaped.columns) == ["'=industry", "mixed", "'-"]
    assert list(escaped["'=industry"].cat.categories) == ["'=x", "retail"]
    assert escaped["mixed"].tolist()[:2] == [-5, "'-5 days"]   # the number is left alone
    restored = unescape_formulas(escaped)
    assert list(restored.columns) == list(frame.columns)
    assert restored["mixed"].tolist()[:2] == [-5, "-5 days"]
    back = read_csv(write_csv(frame, tmp_path / "t.csv"))
    assert list(back.columns) == ["=industry", "mixed", "-"] and back["=industry"].tolist() == ["=x", "retail", "=x"]


def test_file_is_utf8_with_bom_and_older_files_still_read(tmp_path):
    frame = pd.DataFrame({"region": ["华东", "华南"], "customers": [10, 20]})
    path = write_csv(frame, tmp_path / "regions.csv")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")   # Excel on Windows needs it for Chinese text
    pd.testing.assert_frame_equal(read_csv(path), frame, check_dtype=False)
    older = tmp_path / "older.csv"
    pd.DataFrame({"summary": ["'=kept as written"], "customer_id": ["007"]}).to_csv(older, index=False)
    back = read_csv(older, dtype={"customer_id": str})
    assert back["customer_id"].tolist() == ["007"]
    assert back["summary"].tolist() == ["=kept as written"]   # one quote before a formula character is removed


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="expected a DataFrame"):
        escape_formulas(pd.Series(["=1"]))


def test_chapter_save_and_artifact_go_through_the_export(tmp_path):
    chapter = Chapter.__new__(Chapter)   # only the layout is needed for saving and reading
    chapter.layout = RunLayout(tmp_path)
    chapter.layout.artifacts.mkdir()
    frame = pd.DataFrame({"industry": ["=cmd|' /C calc'!A0", "制造业"], "customers": [3, -1]})
    path = chapter.save(frame, "distribution_industry.csv")
    assert path == tmp_path / "artifacts" / "distribution_industry.csv"
    assert body_lines(path)[1] == "'=cmd|' /C calc'!A0,3"
    pd.testing.assert_frame_equal(chapter.artifact("distribution_industry.csv"), frame, check_dtype=False)
    assert chapter.artifact("missing.csv") is None


def test_quarantine_files_are_escaped(tmp_path):
    products = pd.DataFrame({"product_id": ["P1", "P1"], "product_name": ["Router", '=HYPERLINK("http://x")'],
                             "category": ["Hardware", "Hardware"], "unit_price": [10.0, -3.0], "unit_cost": [5.0, 1.0]})
    q = cleaning.Quarantine()
    q.set_aside("products", products, pd.Series([False, True]), "duplicate_key", "key P1")
    (path,) = q.write(tmp_path / "quarantine")
    assert "'=HYPERLINK(\"\"http://x\"\")" in path.read_text(encoding=ENCODING)
    assert read_csv(path)["product_name"].tolist() == ['=HYPERLINK("http://x")']

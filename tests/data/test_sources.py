"""Reading and mapping raw exports: formats, encodings, mapping, derived columns, clear errors."""
import gzip

import pandas as pd
import pytest

from helpers.data.sources import DateOrderError, coerce_column, read_source
from helpers.errors import DataError
from helpers.params import SourceSpec

ORDERS_CSV = "order_id,customer_id,order_date,amount\nA1,c1,2026-07-01,10.5\nA2,c2,2026-07-02,20\n"


def spec(**kwargs) -> SourceSpec:
    return SourceSpec(**({"files": "orders.csv"} | kwargs))


def read(tmp_path, content: str | bytes, name="orders.csv", source="orders", **kwargs):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return read_source(source, spec(files=name, **kwargs), tmp_path, max_failure_share=0.2)


def test_canonical_names_need_no_mapping(tmp_path):
    raw = read(tmp_path, ORDERS_CSV)
    frame = raw.frame
    assert frame["amount"].tolist() == [10.5, 20.0]
    assert frame["order_date"].dt.day.tolist() == [1, 2]
    assert frame["quantity"].isna().all()  # optional column absent -> empty, not an error
    assert raw.rows_read == 2 and raw.files[0]["sha256"]
    assert raw.files[0]["raw_records"] == raw.files[0]["rows"] == 2  # counted from the bytes = rows loaded
    assert raw.frame["_source_row"].tolist() == [2, 3]


def test_mapping_derive_and_float_ids(tmp_path):
    csv = ("InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice,CustomerID\n"
           "536365,85123A,6,12/1/2010 8:26,2.55,17850.0\n"
           "C536379,D,-1,12/1/2010 9:41,27.50,14527.0\n")
    raw = read(tmp_path, csv, columns={"order_id": "InvoiceNo", "product_id": "StockCode", "quantity": "Quantity",
                                       "order_date": "InvoiceDate", "unit_price": "UnitPrice",
                                       "customer_id": "CustomerID"},
               derive={"amount": "quantity * unit_price", "is_return": "order_id.str.startswith('C')"})
    frame = raw.frame
    assert frame["customer_id"].tolist() == ["17850", "14527"]  # float ids read as the same text id
    assert frame["amount"].tolist() == pytest.approx([15.3, -27.5])  # 6 x 2.55, -1 x 27.50
    assert frame["is_return"].tolist() == [False, True]
    assert frame["order_date"].tolist() == [pd.Timestamp("2010-12-01 08:26"), pd.Timestamp("2010-12-01 09:41")]


def test_decimal_comma_thousands_currency_semicolon_dayfirst(tmp_path):
    csv = "order_id;customer_id;order_date;amount\nA1;c1;31.12.2025;¥1.234,50\nA2;c2;01.02.2026;€ 7,25\n"
    raw = read(tmp_path, csv, sep=";", decimal=",", thousands=".", dayfirst=True)
    assert raw.frame["amount"].tolist() == [1234.5, 7.25]
    assert raw.frame["order_date"].tolist() == [pd.Timestamp("2025-12-31"), pd.Timestamp("2026-02-01")]


def test_text_months_and_explicit_format(tmp_path):
    csv = "order_id,customer_id,order_date,amount\nA1,c1,03 Mar 2026,1\nA2,c2,15 Aug 2026,2\n"
    raw = read(tmp_path, csv, date_format="%d %b %Y")
    assert raw.frame["order_date"].dt.month.tolist() == [3, 8]


def test_excel_serial_dates_and_sheet(tmp_path):
    frame = pd.DataFrame({"order_id": ["A1", "A2"], "customer_id": [1, 2], "order_date": [46204, 46205],
                          "amount": [5.0, 6.0]})
    path = tmp_path / "orders.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame({"x": [1]}).to_excel(writer, sheet_name="cover", index=False)
        frame.to_excel(writer, sheet_name="data", index=False)
    raw = read_source("orders", spec(files="orders.xlsx", sheet="data", date_format="excel"), tmp_path, 0.2)
    # Excel serial 46204 = 2026-07-01 (days since 1899-12-30)
    assert raw.frame["order_date"].tolist() == [pd.Timestamp("2026-07-01"), pd.Timestamp("2026-07-02")]
    assert raw.frame["customer_id"].tolist() == ["1", "2"]


@pytest.mark.parametrize("encoding,declared", [("utf-8-sig", "utf-8-sig"), ("gb18030", "gb18030"), ("gbk", "gbk")])
def test_encodings(tmp_path, encoding, declared):
    csv = "customer_id,name,region\nc1,张伟,华东\n"
    raw = read(tmp_path, csv.encode(encoding), name="customers.csv", source="customers", encoding=declared)
    assert raw.frame["region"].tolist() == ["华东"]
    assert list(raw.frame.columns[:2]) == ["customer_id", "source_system"]


def test_wrong_encoding_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="(?s)not valid utf-8.*Fix: set encoding"):
        read(tmp_path, "customer_id,region\nc1,华东\n".encode("gb18030"), name="customers.csv", source="customers")


def test_glob_of_monthly_files_and_mixed_id_types(tmp_path):
    (tmp_path / "orders_2026_07.csv").write_text("order_id,customer_id,order_date,amount\n1,100,2026-07-01,5\n")
    (tmp_path / "orders_2026_08.csv").write_text("order_id,customer_id,order_date,amount\n2,100.0,2026-08-01,6\n")
    raw = read_source("orders", spec(files="orders_2026_*.csv"), tmp_path, 0.2)
    assert raw.frame["customer_id"].tolist() == ["100", "100"]
    assert raw.frame["_source_file"].tolist() == ["orders_2026_07.csv", "orders_2026_08.csv"]
    assert len(raw.files) == 2


def test_gzip_csv(tmp_path):
    path = tmp_path / "orders.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write(ORDERS_CSV)
    raw = read_source("orders", spec(files="orders.csv.gz"), tmp_path, 0.2)
    assert len(raw.frame) == 2


def test_missing_required_file_names_the_fix(tmp_path):
    with pytest.raises(DataError, match="(?s)no file matches.*Fix: put the orders export there"):
        read_source("orders", spec(), tmp_path, 0.2)


def test_absent_optional_source_is_none(tmp_path):
    assert read_source("surveys", SourceSpec(files="surveys.csv"), tmp_path, 0.2) is None


def test_missing_mapped_column_lists_the_columns(tmp_path):
    with pytest.raises(DataError, match=r"column 'Amount' mapped to orders.amount is not in the file.*order_id"):
        read(tmp_path, ORDERS_CSV, columns={"amount": "Amount"})


def test_missing_required_column(tmp_path):
    with pytest.raises(DataError, match="required column orders.amount is missing"):
        read(tmp_path, "order_id,customer_id,order_date\nA1,c1,2026-07-01\n")


def test_text_in_amounts_is_an_error_with_examples(tmp_path):
    csv = "order_id,customer_id,order_date,amount\nA1,c1,2026-07-01,ten\nA2,c2,2026-07-02,eleven\nA3,c3,2026-07-02,3\n"
    with pytest.raises(DataError) as info:
        read(tmp_path, csv)
    message = str(info.value)
    assert "column 'amount'" in message and "2 of 3 values cannot be read as float" in message
    assert "ten" in message and "Fix:" in message


def test_a_few_unreadable_values_are_set_aside(tmp_path):
    rows = "".join(f"A{i},c{i},2026-07-{i + 1:02d},{i + 1}\n" for i in range(9))
    raw = read(tmp_path, "order_id,customer_id,order_date,amount\n" + rows + "A9,c9,2026-13-45,5\n")
    (mask, rule, detail), = raw.rejected
    assert rule == "unreadable_order_date" and int(mask.sum()) == 1
    assert detail.loc[mask].tolist() == ["order_date=2026-13-45"]


def test_empty_and_header_only_files(tmp_path):
    with pytest.raises(DataError, match="empty"):
        read(tmp_path, "")
    with pytest.raises(DataError, match="header but no rows"):
        read(tmp_path, "order_id,customer_id,order_date,amount\n")


def test_corrupt_parquet_and_excel(tmp_path):
    (tmp_path / "orders.parquet").write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(DataError, match="cannot be read as parquet"):
        read_source("orders", spec(files="orders.parquet"), tmp_path, 0.2)
    (tmp_path / "orders.xlsx").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(DataError, match="cannot be read as excel"):
        read_source("orders", spec(files="orders.xlsx"), tmp_path, 0.2)


def test_exclusion_list_sets_rows_aside(tmp_path):
    csv = "order_id,customer_id,order_date,amount,product_id\nA1,c1,2026-07-01,5,POST\nA2,c1,2026-07-01,5,X1\n"
    raw = read(tmp_path, csv, exclude={"product_id": ["POST", "D"]})
    (mask, rule, detail), = raw.rejected
    assert rule == "excluded_by_parameter" and mask.tolist() == [True, False]


def test_bad_derive_expression_is_explained(tmp_path):
    with pytest.raises(DataError, match="cannot compute orders.is_return"):
        read(tmp_path, ORDERS_CSV, derive={"is_return": "InvoiceNo.str.startswith('C')"})


@pytest.mark.parametrize("raw,kind,expected", [
    (["1,5", "2"], "float", [15.0, 2.0]),   # default decimal "." -> "1,5" has a comma: parsed only after cleaning
    (["yes", "N"], "bool", [True, False]),
    (["(12.50)", "$3"], "float", [-12.5, 3.0]),
])
def test_coerce_column(raw, kind, expected):
    values, failed = coerce_column(pd.Series(raw), kind, SourceSpec(files="x", thousands=","))
    assert values.tolist() == expected and not failed.any()


def test_truncated_gzip_csv_is_a_clear_error(tmp_path):
    whole = gzip.compress(("order_id,customer_id,order_date,amount\n" + "A1,c1,2026-07-01,10\n" * 2000).encode())
    (tmp_path / "orders.csv.gz").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DataError, match="(?s)cannot be read as csv.*Fix: check that the file is complete"):
        read_source("orders", spec(files="orders.csv.gz"), tmp_path, 0.2)


def test_csv_cut_mid_line_loses_no_row_silently(tmp_path):
    raw = read(tmp_path, "order_id,customer_id,order_date,amount\nA1,c1,2026-07-01,10\nA2,c2,2026-07")
    # the cut line is read with an empty amount; cleaning then sets it aside as missing a required value
    assert raw.frame["order_id"].tolist() == ["A1", "A2"] and raw.frame["amount"].isna().tolist() == [False, True]


@pytest.mark.parametrize("raw,kind", [
    (["10.5", None, "1e3", ".5", "-0.25"], "float"),                      # Arrow's cast reads all of these
    (["10.5", " 7 ", "abc"], "float"),                                     # padded / unreadable: general parser
    (["2026-07-01", "2026-07-01 13:45:10", None, "2026-07-01T08:00:00.5"], "datetime"),
    (["2026-07-01", "1/7/2026 8:26"], "datetime"),                         # one non-ISO value: general parser
])
def test_arrow_fast_path_gives_the_general_parsers_values(raw, kind):
    arrow_text, object_text = pd.Series(raw, dtype="str"), pd.Series(raw, dtype=object)
    assert arrow_text.dtype.storage == "pyarrow"
    fast, fast_failed = coerce_column(arrow_text, kind, SourceSpec(files="x"))
    general, general_failed = coerce_column(object_text, kind, SourceSpec(files="x"))
    pd.testing.assert_series_equal(fast, general, check_dtype=False)
    assert fast_failed.tolist() == general_failed.tolist() == [v == "abc" for v in raw]


def test_blank_values_are_empty_not_unreadable():
    values, failed = coerce_column(pd.Series(["3", "  ", "x", None], dtype="str"), "float", SourceSpec(files="x"))
    assert values.isna().tolist() == [False, True, True, True]
    assert failed.tolist() == [False, False, True, False]


def test_coerce_column_converts_offsets_to_the_time_zone():
    raw = pd.Series(["2026-07-01T00:30:00Z", "2026-07-01 09:00:00", None], dtype="str")
    values, failed = coerce_column(raw, "datetime", SourceSpec(files="x"), timezone="Asia/Shanghai")
    assert values.tolist()[:2] == [pd.Timestamp("2026-07-01 08:30"), pd.Timestamp("2026-07-01 09:00")]
    assert values.dtype == "datetime64[ns]" and not failed.any()


def test_coerce_column_never_swaps_day_and_month():
    with pytest.raises(DateOrderError, match="valid only day-first") as info:
        coerce_column(pd.Series(["31/12/2026", "01/02/2026"]), "datetime", SourceSpec(files="x"))
    assert info.value.day_first == ["31/12/2026"] and "dayfirst: true" in info.value.fix

"""Raw files read from their bytes: record counts, lost rows, dates, separators, encodings, headers.

Every error test checks that the message names the file, the column (where there is one), example
rows with their line numbers and the fix.
"""
import gzip

import numpy as np
import openpyxl
import pandas as pd
import pytest

from helpers.data import rawcsv, sources
from helpers.data.sources import read_source
from helpers.errors import DataError
from helpers.params import SourceSpec

HEADER = "order_id,customer_id,order_date,amount,description\n"


def write(tmp_path, content, name="orders.csv"):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def read(tmp_path, content, name="orders.csv", timezone="UTC", **settings):
    write(tmp_path, content, name)
    return read_source("orders", SourceSpec(files=name, **settings), tmp_path, 0.2, timezone=timezone)


def error_of(tmp_path, content, name="orders.csv", **settings) -> str:
    with pytest.raises(DataError) as info:
        read(tmp_path, content, name, **settings)
    return str(info.value)


def order_lines(n: int) -> list[str]:
    return [f"A{i},c{i},2026-07-01,{i},plain text" for i in range(n)]


# --- the raw scan --------------------------------------------------------------------------


def test_scan_counts_records_and_their_start_lines(tmp_path):
    # header; quoted newline with CRLF; blank line; doubled quotes; spaces-only line; no final newline
    content = b'a,b\r\n1,"two\r\nlines"\r\n\r\n2,"say ""hi"""\n   \n3,x'
    scan = rawcsv.scan_csv(write(tmp_path, content))
    assert (scan.records, scan.data_records, scan.lines) == (4, 3, 7)
    assert scan.record_lines().tolist() == [1, 2, 5, 7]
    assert scan.header == "a,b" and scan.quoted_newlines == 1 and not scan.problems


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 5, 8, 64])
def test_scan_gives_the_same_answer_in_any_chunk_size(tmp_path, chunk_size):
    content = (HEADER + 'A1,c1,2026-07-01,1,"multi\nline, value"\n\nA2,c2,2026-07-01,2,"a ""b"""\r\n'
               + "\n".join(order_lines(3)) + '\nA9,c9,2026-07-01,9,"open\n' + "\n".join(order_lines(2)) + "\n")
    path = write(tmp_path, content)
    whole, chunked = rawcsv.scan_csv(path), rawcsv.scan_csv(path, chunk_size=chunk_size)
    assert chunked.records == whole.records == 7
    assert chunked.record_lines().tolist() == whole.record_lines().tolist() == [1, 2, 5, 6, 7, 8, 9]
    problem, = chunked.problems
    assert (problem.kind, problem.line, problem.record_like_lines, problem.record_like_line) == \
        ("unterminated_quote", 9, 2, 10)


def test_scan_agrees_with_the_parsers_on_quotes_inside_unquoted_fields(tmp_path):
    # a quote in the middle of a field is a literal (inch marks); after a closing quote too
    content = 'a,b\n1,12" pizza\n2,"x"y"z\n3,5" vase\n'
    path = write(tmp_path, content)
    scan = rawcsv.scan_csv(path)
    assert scan.data_records == len(pd.read_csv(path)) == len(pd.read_csv(path, engine="pyarrow")) == 3
    assert not scan.problems


def test_scan_reads_gzip_and_bare_carriage_returns(tmp_path):
    path = tmp_path / "orders.csv.gz"
    path.write_bytes(gzip.compress(b'a,b\r1,"x\ry"\r2,z\r'))
    scan = rawcsv.scan_csv(path)
    assert scan.record_lines().tolist() == [1, 2, 4] and scan.lines == 4


def test_scan_works_on_gb18030_and_latin1_bytes(tmp_path):
    text = 'id;城市;备注\n1;上海;"第一行\n第二行"\n2;北京;普通\n'
    for encoding in ("gb18030", "gbk", "utf-8-sig"):
        scan = rawcsv.scan_csv(write(tmp_path, text.encode(encoding)), sep=";", encoding=encoding)
        assert scan.record_lines().tolist() == [1, 2, 4] and scan.header == "id;城市;备注"
    scan = rawcsv.scan_csv(write(tmp_path, 'id,name\n1,"Müller,\nJosé"\n'.encode("latin-1")), encoding="latin-1")
    assert scan.record_lines().tolist() == [1, 2] and not scan.problems


def test_scan_decodes_first_when_a_separator_byte_can_be_inside_a_character(tmp_path):
    # In GBK '亅' is the bytes 81 7C: its second byte is '|'. Raw bytes would see a separator and
    # then a quote opening a field; decoded, the quote is inside the field and literal.
    path = write(tmp_path, 'a|b\n1|亅"x\n2|y\n'.encode("gbk"))
    scan = rawcsv.scan_csv(path, sep="|", encoding="gbk")
    assert scan.data_records == len(pd.read_csv(path, sep="|", encoding="gbk")) == 2 and not scan.problems


def test_stray_quote_and_cut_off_file_are_found(tmp_path):
    lines = order_lines(20)
    lines[5] = 'A5,c5,2026-07-01,5,"Lamp'            # line 7: stray quote at the start of a field
    lines[12] = 'A12,c12,2026-07-01,12,"quoted"'     # a legitimate quoted field closes it
    scan = rawcsv.scan_csv(write(tmp_path, HEADER + "\n".join(lines) + "\n"))
    problem, = scan.problems
    assert (problem.kind, problem.line, problem.close_line, problem.field_index) == ("stray_quote", 7, 14, 4)
    assert problem.record_like_lines == 6 and problem.record_like_line == 8

    scan = rawcsv.scan_csv(write(tmp_path, HEADER + 'A1,c1,2026-07-01,1,"a note\nthat goes on'))
    problem, = scan.problems
    assert (problem.kind, problem.line, problem.record_like_lines) == ("unterminated_quote", 2, 0)


def test_a_multiline_note_is_not_a_stray_quote(tmp_path):
    content = HEADER + 'A1,c1,2026-07-01,1,"Delivered to the side door.\nCall first, please.\nThanks"\n'
    assert not rawcsv.scan_csv(write(tmp_path, content)).problems


@pytest.mark.parametrize("chunk_size", [1, 7, 100, 1 << 20])
def test_first_undecodable_byte_is_counted_over_the_whole_file(tmp_path, chunk_size):
    good = "".join(f"A{i},c{i},2026-07-01,{i},ok\n" for i in range(7)).encode()
    content = b"x,y\n" + good + "A9,城市\n".encode("gb18030")
    offset = content.index("城".encode("gb18030"))
    failure = rawcsv.first_undecodable(write(tmp_path, content), "utf-8", chunk_size=chunk_size)
    assert (failure.offset, failure.line, failure.column) == (offset, 9, 3)
    assert failure.line_bytes == "A9,城市".encode("gb18030")
    assert rawcsv.first_undecodable(write(tmp_path, content), "gb18030", chunk_size=chunk_size) is None


@pytest.mark.parametrize("chunk_size", [1, 2, 64])
def test_bad_sequence_that_starts_in_an_earlier_block(tmp_path, chunk_size):
    # E4 starts a three-byte UTF-8 character; "A" cannot continue it
    failure = rawcsv.first_undecodable(write(tmp_path, b"x,y\r\n1,\xe4A\r\n"), "utf-8", chunk_size=chunk_size)
    assert (failure.offset, failure.line, failure.column, failure.line_bytes) == (7, 2, 2, b"1,\xe4A")


@pytest.mark.parametrize("header,sep,expected", [
    ("order_id;amount", ",", ";"), ("order_id\tamount", ",", "\t"), ("order_id|amount", ",", "|"),
    ("order_id,amount", ";", ","), ("order_id,amount", ",", None), ("order_id", ",", None),
])
def test_sniff_separator(header, sep, expected):
    assert rawcsv.sniff_separator(header, sep) == expected


def test_scan_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="chunk_size"):
        rawcsv.scan_csv(write(tmp_path, "a\n"), chunk_size=0)
    with pytest.raises(ValueError, match="sep"):
        rawcsv.scan_csv(write(tmp_path, "a\n"), sep="")


# --- no row lost without a trace -----------------------------------------------------------


def test_stray_quote_at_line_501_of_a_long_file_stops_the_run(tmp_path):
    lines = order_lines(14_533)
    lines[499] = 'A499,c499,2026-07-01,499,"Lamp 12 inch'        # physical line 501
    lines[4_600] = 'A4600,c4600,2026-07-01,4600,"red, large"'   # a legitimate quoted field further on
    message = error_of(tmp_path, HEADER + "\n".join(lines) + "\n")
    assert "orders.csv" in message and "column 'description'" in message
    assert "stray quote" in message and "line 501" in message and "line 4,602" in message
    assert "501" in message.split("Example rows:")[1] and "502" in message.split("Example rows:")[1]
    assert 'Fix: double the quote ("")' in message and "all fields quoted" in message


def test_stray_quote_that_never_closes(tmp_path):
    lines = order_lines(30)
    lines[9] = 'A9,c9,2026-07-01,9,"Lamp'
    message = error_of(tmp_path, HEADER + "\n".join(lines) + "\n")
    assert "never closes" in message and "line 11" in message and "column 'description'" in message
    assert "  11  " in message and "Fix: double the quote" in message


def test_file_cut_off_inside_a_quoted_field(tmp_path):
    message = error_of(tmp_path, HEADER + 'A1,c1,2026-07-01,1,x\nA2,c2,2026-07-02,2,"cut in the mid')
    assert "orders.csv" in message and "column 'description'" in message
    assert "ends inside a quoted field that opens on line 3" in message and "cut off" in message
    assert "  3  " in message.split("Example rows:")[1]
    assert "Fix: export the file again" in message


def test_a_parser_that_drops_a_row_is_caught(tmp_path, monkeypatch):
    real = sources._read_csv
    monkeypatch.setattr(sources, "_read_csv", lambda path, spec: real(path, spec).drop(index=2).reset_index(drop=True))
    message = error_of(tmp_path, HEADER + "\n".join(order_lines(6)) + "\n")
    assert "read 5 rows but the file holds 6 records" in message and "orders.csv" in message
    assert "at line 4" in message and "A2,c2" in message.split("Example rows:")[1]
    assert "Fix: look at that line" in message


def test_source_row_is_the_physical_line_of_each_record(tmp_path):
    content = (HEADER + 'A1,c1,2026-07-01,1,"two\nlines"\r\n\r\nA2,c2,2026-07-02,2,x\n   \n'
               'A3,c3,2026-07-03,3,"a\n\nb"\nA4,c4,2026-07-04,4,y')
    raw = read(tmp_path, content)
    assert raw.frame["_source_row"].tolist() == [2, 5, 7, 10]
    assert raw.frame["amount"].tolist() == [1.0, 2.0, 3.0, 4.0]
    entry, = raw.files
    assert entry["rows"] == entry["raw_records"] == 4


def test_source_row_for_gzip_and_other_encodings(tmp_path):
    content = ("order_id;customer_id;order_date;amount;description\n"
               'A1;c1;2026-07-01;1;"上海\n浦东"\nA2;c2;2026-07-02;2;北京\n')
    path = tmp_path / "orders.csv.gz"
    path.write_bytes(gzip.compress(content.encode("gb18030")))
    raw = read_source("orders", SourceSpec(files="orders.csv.gz", sep=";", encoding="gb18030"), tmp_path, 0.2)
    assert raw.frame["_source_row"].tolist() == [2, 4] and raw.files[0]["raw_records"] == 2


def test_parquet_rows_are_checked_against_its_metadata(tmp_path):
    frame = pd.DataFrame({"order_id": ["A1", "A2", "A3"], "customer_id": ["c1", "c2", "c3"],
                          "order_date": pd.to_datetime(["2026-07-01"] * 3), "amount": [1.0, 2.0, 3.0]})
    frame.to_parquet(tmp_path / "orders.parquet")
    raw = read_source("orders", SourceSpec(files="orders.parquet"), tmp_path, 0.2)
    assert raw.files[0]["raw_records"] == raw.files[0]["rows"] == 3


def excel(tmp_path, rows: list[list], name="orders.xlsx"):
    workbook = openpyxl.Workbook()
    for values in rows:
        workbook.active.append(values)
    workbook.save(tmp_path / name)


def test_excel_rows_are_counted_and_keep_their_sheet_row(tmp_path):
    excel(tmp_path, [["order_id", "customer_id", "order_date", "amount"], ["A1", "c1", "2026-07-01", 1],
                     [None, None, None, None], ["A2", "c2", "2026-07-02", 2], ["A3", "c3", "2026-07-03", 3]])
    raw = read_source("orders", SourceSpec(files="orders.xlsx"), tmp_path, 0.2)
    assert raw.frame["order_id"].tolist() == ["A1", "A2", "A3"]
    assert raw.frame["_source_row"].tolist() == [2, 4, 5]
    assert raw.files[0]["raw_records"] == raw.files[0]["rows"] == 3


def test_excel_header_naming_a_column_twice(tmp_path):
    excel(tmp_path, [["order_id", "customer_id", "order_date", "amount", "amount"], ["A1", "c1", "2026-07-01", 1, 2]])
    with pytest.raises(DataError) as info:
        read_source("orders", SourceSpec(files="orders.xlsx"), tmp_path, 0.2)
    message = str(info.value)
    assert "orders.xlsx" in message and "the header names 'amount' twice (columns 4 and 5)" in message
    assert "Fix: rename or drop one" in message


# --- dates ---------------------------------------------------------------------------------


def test_day_first_and_month_first_values_in_one_column(tmp_path):
    content = HEADER + ("A1,c1,01/02/2026,1,x\nA2,c2,13/01/2026,2,x\nA3,c3,01/13/2026,3,x\n"
                        "A4,c4,25/12/2026,4,x\nA5,c5,12/25/2026,5,x\n")
    message = error_of(tmp_path, content)
    assert "orders.csv" in message and "column 'order_date'" in message and "mix day-first" in message
    examples = message.split("Example rows:")[1]
    assert "13/01/2026" in examples and "01/13/2026" in examples
    assert "day-first only" in examples and "month-first only" in examples and "  3  " in examples
    assert 'date_format: "%d/%m/%Y"' in message


def test_values_valid_only_in_the_opposite_order_stop_the_run(tmp_path):
    content = HEADER + "A1,c1,01/02/2026,1,x\nA2,c2,31/12/2026,2,x\n"
    message = error_of(tmp_path, content)
    assert "column 'order_date'" in message and "'31/12/2026' are valid only day-first" in message
    assert "  3  " in message.split("Example rows:")[1] and "Fix: set dayfirst: true" in message
    assert 'date_format: "%d/%m/%Y"' in message
    message = error_of(tmp_path, HEADER + "A1,c1,01/13/2026 08:00,1,x\n", dayfirst=True)
    assert "valid only month-first" in message and "Fix: set dayfirst: false" in message


def test_ambiguous_dates_follow_the_settings_and_iso_dates_stay_iso(tmp_path):
    content = HEADER + "A1,c1,01/02/2026,1,x\nA2,c2,2026-07-03,2,x\nA3,c3,2026-07-03T08:00:00Z,3,x\n"
    month_first = read(tmp_path, content).frame["order_date"]
    day_first = read(tmp_path, content, dayfirst=True).frame["order_date"]
    assert month_first.tolist()[:2] == [pd.Timestamp("2026-01-02"), pd.Timestamp("2026-07-03")]
    # pandas' own parser reads 2026-07-03 day-first as 7 March; ISO dates are never read day-first
    assert day_first.tolist() == [pd.Timestamp("2026-02-01"), pd.Timestamp("2026-07-03"),
                                  pd.Timestamp("2026-07-03 08:00")]


def test_timestamps_with_offsets_are_converted_to_the_report_time_zone(tmp_path):
    content = HEADER + ("A1,c1,2015-02-24 11:35:52 -0800,1,x\nA2,c2,2026-07-01T08:00:00Z,2,x\n"
                        "A3,c3,2026-07-01 08:00:00+08:00,3,x\nA4,c4,2026-07-01 08:00:00,4,x\nA5,c5,,5,x\n")
    dates = read(tmp_path, content, timezone="Asia/Shanghai").frame["order_date"]
    assert dates.dtype == "datetime64[ns]"
    assert dates.tolist()[:4] == [pd.Timestamp("2015-02-25 03:35:52"), pd.Timestamp("2026-07-01 16:00"),
                                  pd.Timestamp("2026-07-01 08:00"), pd.Timestamp("2026-07-01 08:00")]
    assert pd.isna(dates.iloc[4])
    only_offsets = HEADER + "A1,c1,2026-07-01T08:00:00Z,1,x\nA2,c2,2026-07-01T23:30:00-02:00,2,x\n"
    assert read(tmp_path, only_offsets).frame["order_date"].tolist() == [pd.Timestamp("2026-07-01 08:00"),
                                                                          pd.Timestamp("2026-07-02 01:30")]


def test_day_first_timestamps_with_offsets(tmp_path):
    content = HEADER + "A1,c1,31/12/2026 23:00 +01:00,1,x\nA2,c2,01/02/2026 10:00 +00:00,2,x\n"
    dates = read(tmp_path, content, dayfirst=True, timezone="UTC").frame["order_date"]
    assert dates.tolist() == [pd.Timestamp("2026-12-31 22:00"), pd.Timestamp("2026-02-01 10:00")]


def test_plain_iso_dates_keep_the_arrow_path(tmp_path, monkeypatch):
    def no_general_parser(*args, **kwargs):
        raise AssertionError("plain ISO dates must not reach the general parser")

    monkeypatch.setattr(sources, "_parse_date_group", no_general_parser)
    raw = read(tmp_path, HEADER + "A1,c1,2026-07-01 08:00:00,1,x\nA2,c2,2026-07-02,2,x\n")
    assert raw.frame["order_date"].tolist() == [pd.Timestamp("2026-07-01 08:00"), pd.Timestamp("2026-07-02")]


def test_unknown_time_zone_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        read(tmp_path, HEADER + "A1,c1,2026-07-01,1,x\n", timezone="Mars/Olympus")


# --- diagnostics that point at the real fix ------------------------------------------------


@pytest.mark.parametrize("sep,setting", [(";", 'sep: ";"'), ("\t", 'sep: "\\t"'), ("|", 'sep: "|"')])
def test_file_with_another_separator(tmp_path, sep, setting):
    content = (HEADER + "A1,c1,2026-07-01,1,x\n").replace(",", sep)
    message = error_of(tmp_path, content)
    shown = "tab" if sep == "\t" else f"'{sep}'"
    assert f"this file looks {shown}-separated" in message and "orders.csv" in message
    assert "  1  " in message.split("Example rows:")[1]
    assert f"Fix: set sources.orders.{setting}" in message


def test_encoding_error_names_the_true_byte_and_line(tmp_path):
    # The first bad byte at offset 164, on line 6, in the description column.
    prefix = HEADER + "".join(f"A{i},c{i},2026-07-01,{i},ok\n" for i in range(4)) + "A4,c4,2026-07-01,4,"
    content = (prefix + "x" * (164 - len(prefix))).encode() + "华东\n".encode("gb18030")
    assert content.index("华".encode("gb18030")) == 164
    message = error_of(tmp_path, content)
    assert "orders.csv" in message and "column 'description'" in message
    assert "at byte 164 (line 6," in message
    examples = message.split("Example rows:")[1]
    assert "  6  " in examples and "华东" in examples
    assert "Fix: set encoding: gb18030" in message and "utf-8-sig" in message and "latin-1" in message


def test_latin1_file_read_as_utf8_suggests_a_western_encoding(tmp_path):
    content = (HEADER + "A1,c1,2026-07-01,1,Müller & Söhne, café\n").encode("cp1252")
    message = error_of(tmp_path, content.replace(b", caf", b" caf"))
    assert "line 2" in message and "Fix: set encoding: cp1252" in message


def test_header_naming_a_column_twice(tmp_path):
    content = "order_id,customer_id,order_date,amount,region,country,amount\nA1,c1,2026-07-01,10,r,c,12\n"
    message = error_of(tmp_path, content)
    assert "orders.csv" in message and "column 'amount'" in message
    assert "the header names 'amount' twice (columns 4 and 7)" in message
    assert "  7  " in message.split("Example rows:")[1]
    assert 'Fix: rename or drop one of them in the export, or map the one you mean' in message
    assert 'sources.orders.columns.amount: "amount.1" reads column 7' in message
    # mapping the one meant reads it
    raw = read(tmp_path, content, columns={"amount": "amount.1"})
    assert raw.frame["amount"].tolist() == [12.0]


def test_repeated_header_name_that_is_not_read_is_harmless(tmp_path):
    content = "order_id,customer_id,order_date,amount,note,note\nA1,c1,2026-07-01,10,a,b\n"
    assert read(tmp_path, content).frame["amount"].tolist() == [10.0]


def test_online_retail_raw_records_equal_rows_loaded():
    from conftest import SHARED

    path = SHARED / "datasets" / "online_retail" / "online_retail.csv.gz"
    if not path.exists():
        pytest.skip(f"the Online Retail data set is not at {path}")
    scan = rawcsv.scan_csv(path)
    assert scan.data_records == 541_909 and not scan.problems
    assert np.array_equal(scan.data_lines()[:3], [2, 3, 4])


def test_rows_longer_than_the_header_do_not_shift_the_columns(tmp_path):
    # pandas would take the first column as an index and shift every value one column left.
    (tmp_path / "orders.csv").write_text("order_id,customer_id,order_date,amount\nA1,c1,2026-07-01,10.5,\n"
                                         "A2,c2,2026-07-02,20,\n", encoding="utf-8")
    with pytest.raises(DataError) as error:
        read_source("orders", SourceSpec(files="orders.csv"), tmp_path, 0.2)
    message = str(error.value)
    assert f"file {tmp_path / 'orders.csv'}" in message and "1 more field(s) than the header names" in message
    assert "line" in message and "remove the separator at the end of every row" in message

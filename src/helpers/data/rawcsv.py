"""What a CSV file holds, read from its raw bytes, independently of the CSV parser.

A parser that meets a stray quote can read the rest of a file as one quoted value and return
fewer rows without an error; a file cut off inside a quoted value can be accepted the same way.
:func:`scan_csv` counts the records of a file from its bytes (quote-aware, RFC 4180), notes the
physical line each record starts on and reports the two signatures of lost rows, so that the
reader can compare the parser's row count with it.

The scan is vectorised with numpy and reads the file in chunks (bounded memory, ``.gz`` streamed).
It works on the bytes for encodings in which the bytes of ``"``, ``,``, ``;``, tab, ``\\n`` and
``\\r`` never occur inside a multi-byte character (UTF-8, GBK / GB18030, Latin-1, Windows code
pages); any other encoding, or a separator such a character may contain, is decoded and scanned
as UTF-8.

Quoting follows the readers it checks (pandas' C parser and Arrow's): a quote opens a quoted
field only at the start of a field; inside it, a doubled quote ``""`` is a literal quote and a
single quote closes the field; a quote in the middle of an unquoted field is a literal character.
A newline inside a quoted field does not end the record. ``\\n``, ``\\r\\n`` and a bare ``\\r``
end a line; lines holding only spaces or tabs are blank and are not records.
"""
from __future__ import annotations

import codecs
import csv
import gzip
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Iterator

import numpy as np

__all__ = ["CHUNK_SIZE", "CsvProblem", "CsvScan", "DecodeFailure", "first_undecodable", "open_raw", "scan_csv",
           "sniff_separator", "split_fields"]

CHUNK_SIZE = 32 << 20
_QUOTE, _LF, _CR, _SPACE, _TAB = 34, 10, 13, 32, 9
_BOM = b"\xef\xbb\xbf"
_MAX_PROBLEMS = 20
_MAX_HEADER_BYTES = 1 << 20
# Codecs whose every byte below 0x80 is that ASCII character.
_ASCII_TRANSPARENT = {"utf-8", "utf-8-sig", "ascii", "latin-1", "iso8859-1", "cp1252", "cp1250", "cp1251",
                      "cp1253", "cp1254", "cp1257", "iso8859-2", "iso8859-15", "mac-roman", "euc_jp", "euc_kr"}
# Double-byte codecs whose second byte can be 0x40-0x7E (GB18030's four-byte form also 0x30-0x39):
# bytes below 0x30 still never occur inside a character.
_LOW_BYTES_SAFE = {"gbk", "gb18030", "gb2312", "big5", "big5hkscs", "cp950", "cp936", "shift_jis", "cp932",
                   "cp949"}
SEPARATOR_CANDIDATES = (",", ";", "\t", "|")


@dataclass
class CsvProblem:
    """A quoted field that makes a parser lose rows.

    ``kind`` is ``"stray_quote"`` (a quoted field that closes only after lines that look like
    whole records) or ``"unterminated_quote"`` (the file ends inside a quoted field).
    """

    kind: str
    line: int
    excerpt: str
    field_index: int | None = None
    close_line: int | None = None
    record_like_lines: int = 0
    record_like_line: int | None = None
    record_like_excerpt: str = ""


@dataclass
class CsvScan:
    """Records of one CSV file as counted from its bytes (the header is record 0)."""

    path: Path
    records: int = 0
    lines: int = 0
    bytes_scanned: int = 0
    header: str = ""
    header_line: int = 0
    quoted_newlines: int = 0
    problems: list[CsvProblem] = field(default_factory=list)
    more_problems: int = 0
    _jump_records: list[np.ndarray] = field(default_factory=list, repr=False)
    _jump_extra: list[np.ndarray] = field(default_factory=list, repr=False)

    @property
    def data_records(self) -> int:
        """Records after the header."""
        return max(self.records - 1, 0)

    def record_lines(self) -> np.ndarray:
        """The physical line (1-based) on which each record starts, header first."""
        lines = np.arange(1, self.records + 1, dtype=np.int64)
        if self._jump_records:
            at = np.concatenate(self._jump_records)
            extra = np.concatenate(self._jump_extra)
            # Between two change points the offset between record index and line is constant.
            where = np.searchsorted(at, np.arange(self.records), side="right") - 1
            lines += np.where(where >= 0, extra[np.maximum(where, 0)], 0)
        return lines

    def data_lines(self) -> np.ndarray:
        """The physical line on which each record after the header starts."""
        return self.record_lines()[1:]


@dataclass
class _State:
    inside: bool = False
    lines_before: int = 0
    last_extra: int = 0
    header_fields: int | None = None
    open_line: int = 0
    open_excerpt: str = ""
    open_field_index: int | None = None
    open_record_like: int = 0
    open_record_like_line: int | None = None
    open_record_like_excerpt: str = ""


def _codec_name(encoding: str) -> str:
    """The codec's canonical name; ``LookupError`` for an unknown encoding."""
    return codecs.lookup(encoding).name


def _bytes_are_safe(encoding: str, special: bytes) -> bool:
    """Whether the ``special`` bytes can be searched for in the raw bytes of ``encoding``."""
    name = _codec_name(encoding)
    if name in _ASCII_TRANSPARENT or name.startswith(("iso8859", "cp125")):
        return True
    return name in _LOW_BYTES_SAFE and all(b < 0x30 or b == 0x3B for b in special)


def open_raw(path: Path) -> BinaryIO:
    """The file's bytes, decompressed on the fly when it is gzip (by content, not by name)."""
    with open(path, "rb") as probe:
        magic = probe.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def _blocks(path: Path, encoding: str, raw_bytes: bool, chunk_size: int) -> Iterator[tuple[bytearray, int]]:
    """Blocks of the file, each ending just after a line end (the last one possibly not).

    Yields the same buffer each time with the length of the block in it: reading into one
    buffer spares allocating (and faulting in) fresh memory for every block. The bytes after
    the cut are moved to the front and the next read appends to them.
    """
    decoder = None if raw_bytes else codecs.getincrementaldecoder(encoding)(errors="replace")
    buffer = bytearray(chunk_size)
    held = 0
    with open_raw(path) as handle:
        if decoder is None:
            head = handle.read(len(_BOM))
            if head != _BOM:
                buffer[:len(head)] = head
                held = len(head)
        first = True
        while True:
            if decoder is None:
                if held == len(buffer):  # a line longer than the buffer
                    buffer.extend(bytes(len(buffer)))
                with memoryview(buffer) as view:
                    got = handle.readinto(view[held:])
                end, at_end = held + got, got == 0
            else:
                raw = handle.read(chunk_size)
                text = decoder.decode(raw, final=not raw)
                if first:
                    text, first = text.lstrip("\ufeff"), False
                piece = text.encode("utf-8")
                end, at_end = held + len(piece), not raw
                if end > len(buffer):
                    buffer.extend(bytes(end - len(buffer)))
                buffer[held:end] = piece
            if at_end:
                if end:
                    yield buffer, end
                return
            # Cut after the last line end; a final \r may be the first half of \r\n.
            cut = max(buffer.rfind(b"\n", 0, end), buffer.rfind(b"\r", 0, end - 1)) + 1
            if cut == 0:
                held = end
                continue
            yield buffer, cut
            held = end - cut
            buffer[:held] = buffer[cut:end]


def _line_ends(data: np.ndarray, block: bytearray) -> np.ndarray:
    """Positions of the bytes that end a line: ``\\n``, and ``\\r`` not followed by ``\\n``."""
    size = len(data)
    ends = np.flatnonzero(data == _LF)
    if block.find(b"\r", 0, size) != -1 and block.count(b"\r", 0, size) != block.count(b"\r\n", 0, size):
        cr = np.flatnonzero(data == _CR)
        following = np.minimum(cr + 1, size - 1)
        bare = cr[(cr + 1 == size) | (data[following] != _LF)]
        ends = np.union1d(ends, bare)
    return ends


def _after_field_start(data: np.ndarray, positions: np.ndarray, starts: tuple[int, ...],
                       skip_space: bool) -> np.ndarray:
    """Whether each position begins a field: after a separator, a line end, the block start
    or (``skip_space``, as pandas reads) spaces after one of those."""
    before = positions - 1
    at_start = before < 0
    previous = data[np.maximum(before, 0)]
    for byte in starts:
        at_start |= previous == byte
    if skip_space and _SPACE not in starts:
        pending = np.flatnonzero(~at_start & (previous == _SPACE))
        while len(pending):
            before[pending] -= 1
            reached = before[pending] < 0
            at_start[pending[reached]] = True
            pending = pending[~reached]
            previous = data[before[pending]]
            hit = np.zeros(len(pending), dtype=bool)
            for byte in starts:
                hit |= previous == byte
            at_start[pending[hit]] = True
            pending = pending[~hit & (previous == _SPACE)]
    return at_start


def _quote_toggles(data: np.ndarray, starts: tuple[int, ...], inside: bool, skip_space: bool) -> np.ndarray:
    """Positions where the quoted state flips, given the state at the start of the block.

    A run of n quotes is neutral when n is even (escaped quotes, or an empty quoted field). An
    odd run flips the state when it is at the start of a field, or when it closes an open field;
    in the middle of an unquoted field it is a literal character. Runs at field starts therefore
    alternate open / close, and a mid-field run closes only the field its predecessor opened.
    """
    quotes = np.flatnonzero(data == _QUOTE)
    if not len(quotes):
        return quotes
    run_first = np.ones(len(quotes), dtype=bool)
    run_first[1:] = quotes[1:] != quotes[:-1] + 1
    first_index = np.flatnonzero(run_first)
    run_length = np.diff(np.append(first_index, len(quotes)))
    events = quotes[first_index[run_length % 2 == 1]]
    if not len(events):
        return events
    toggles = np.zeros(len(events), dtype=bool)
    offset = 0
    if inside:  # whatever comes first closes the field left open by the previous block
        toggles[0], offset = True, 1
    rest = events[offset:]
    opens_field = _after_field_start(data, rest, starts, skip_space)
    index = np.arange(len(rest))
    run_start = opens_field & ~np.concatenate(([False], opens_field[:-1]))
    position_in_run = index - np.maximum.accumulate(np.where(run_start, index, 0))
    leaves_open = opens_field & (position_in_run % 2 == 0)
    closes = ~opens_field & np.concatenate(([False], leaves_open[:-1]))
    toggles[offset:] = opens_field | closes
    return events[toggles]


def _whitespace_only(data: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                     blank_bytes: tuple[int, ...]) -> np.ndarray:
    """Whether each line ``data[start:end]`` holds nothing but ``blank_bytes``."""
    blank = ends <= starts
    pending = np.flatnonzero(~blank)
    position = starts[pending].copy()
    while len(pending):
        value = data[position]
        is_blank_byte = np.zeros(len(pending), dtype=bool)
        for byte in blank_bytes:
            is_blank_byte |= value == byte
        position, pending = position[is_blank_byte] + 1, pending[is_blank_byte]
        done = position >= ends[pending]
        blank[pending[done]] = True
        position, pending = position[~done], pending[~done]
    return blank


def _excerpt(block: bytearray, start: int, end: int, focus: int | None, encoding: str) -> str:
    """Text of ``block[start:end]`` (one line), from a little before ``focus`` when given."""
    begin = start if focus is None else max(start, focus - 15)
    text = block[begin:min(end, begin + 200)].decode(encoding, errors="replace").rstrip("\r\n")
    return ("…" if begin > start else "") + text


def _field_index(block: bytearray, line_start: int, position: int, sep_byte: int | None) -> int | None:
    """0-based field of ``position`` on a line that starts a record (quotes toggle)."""
    if sep_byte is None:
        return None
    prefix = np.frombuffer(block, dtype=np.uint8, count=position - line_start, offset=line_start)
    outside = np.cumsum(prefix == _QUOTE) % 2 == 0
    return int(np.count_nonzero((prefix == sep_byte) & outside))


def split_fields(line: str, sep: str) -> list[str]:
    """The fields of one CSV record (quote-aware); ``[line]`` for a multi-character separator."""
    if len(sep) != 1:
        return [line]
    try:
        reader = csv.reader(io.StringIO(line.rstrip("\r\n"), newline=""), delimiter=sep, quotechar='"',
                            skipinitialspace=True)
        return next(reader, [""])
    except csv.Error:
        return line.rstrip("\r\n").split(sep)


def sniff_separator(header: str, sep: str) -> str | None:
    """The separator the header line seems to use instead of ``sep``, or ``None``.

    Only when the header is a single field with ``sep`` and splits into several with another
    common separator (the one giving the most fields).
    """
    if len(sep) != 1 or len(split_fields(header, sep)) != 1:
        return None
    counts = {candidate: len(split_fields(header, candidate)) for candidate in SEPARATOR_CANDIDATES if candidate != sep}
    best = max(counts, key=counts.get)
    return best if counts[best] > 1 else None


class _Scanner:
    """Carries the quoted state, line count and open quoted field from one block to the next."""

    def __init__(self, scan: CsvScan, count_sep: int | None, field_starts: tuple[int, ...], quoting: bool,
                 skip_space: bool, encoding: str, header_sep: str | None):
        self.scan, self.state, self.encoding = scan, _State(), encoding
        self.count_sep, self.field_starts, self.header_sep = count_sep, field_starts, header_sep
        self.quoting, self.skip_space = quoting, skip_space
        self.blank_bytes = tuple(b for b in (_SPACE, _TAB, _CR) if b != count_sep)
        self.ends_with_line_end = True
        self.header_open, self._header_bytes = False, b""

    def _line_of(self, ends: np.ndarray, position):
        """The line (1-based, whole file) of a byte (or bytes) of the current block."""
        return self.state.lines_before + np.searchsorted(ends, position) + 1

    def _problem(self, problem: CsvProblem) -> None:
        if len(self.scan.problems) < _MAX_PROBLEMS:
            self.scan.problems.append(problem)
        else:
            self.scan.more_problems += 1

    def block(self, block: bytearray, size: int) -> None:
        state, scan = self.state, self.scan
        data = np.frombuffer(block, dtype=np.uint8, count=size)
        ends = _line_ends(data, block)
        carried = state.inside
        if self.quoting and (carried or block.find(b'"', 0, size) != -1):
            toggles = _quote_toggles(data, self.field_starts, carried, self.skip_space)
            flips_before_end = np.searchsorted(toggles, ends)
            end_inside = (flips_before_end + carried) % 2 == 1
            record_end_index = np.flatnonzero(~end_inside)
        else:
            toggles = np.empty(0, dtype=np.int64)
            flips_before_end = np.zeros(len(ends), dtype=np.int64)
            end_inside = np.zeros(len(ends), dtype=bool)
            record_end_index = np.arange(len(ends))
        scan.quoted_newlines += len(ends) - len(record_end_index)

        # Records end at line ends outside quotes and start just after them (line = index + 2);
        # blank lines are not records.
        record_ends = ends[record_end_index]
        starts = record_ends + 1
        stops = np.append(record_ends[1:], size)[:len(record_ends)]
        lines = state.lines_before + record_end_index + 2
        if len(starts) and starts[-1] >= size:
            starts, stops, lines = starts[:-1], stops[:-1], lines[:-1]
        if not carried:
            starts = np.concatenate(([0], starts))
            stops = np.concatenate(([record_ends[0] if len(record_ends) else size], stops))
            lines = np.concatenate(([state.lines_before + 1], lines))
        keep = ~_whitespace_only(data, starts, stops, self.blank_bytes)
        starts, stops, lines = starts[keep], stops[keep], lines[keep]
        if self.header_open:
            self._header(block, ends, 0, int(record_ends[0]) if len(record_ends) else size, not len(record_ends))
        if len(starts):
            if state.header_fields is None and not self.header_open:
                self._header(block, ends, int(starts[0]), int(stops[0]),
                             stops[0] == size and (len(toggles) + carried) % 2 == 1)
            extra = lines - (scan.records + 1 + np.arange(len(starts)))
            changed = np.flatnonzero(np.diff(extra, prepend=state.last_extra) != 0)
            if len(changed):
                scan._jump_records.append(scan.records + changed)
                scan._jump_extra.append(extra[changed])
            state.last_extra = int(extra[-1])
            scan.records += len(starts)

        if self.quoting and len(toggles) + carried:
            self._quoted_fields(block, size, ends, toggles, flips_before_end, end_inside, carried)
        state.inside = bool((len(toggles) + carried) % 2)
        state.lines_before += len(ends)
        scan.bytes_scanned += size
        self.ends_with_line_end = bool(len(ends)) and int(ends[-1]) == size - 1

    def _header(self, block: bytearray, ends: np.ndarray, start: int, stop: int, continues: bool) -> None:
        """The header is the first record; it may run on into the next block (a quoted newline)."""
        scan, state = self.scan, self.state
        if not self.header_open:
            scan.header_line = int(self._line_of(ends, start))
            self._header_bytes = b""
        self._header_bytes += bytes(block[start:min(stop, start + _MAX_HEADER_BYTES - len(self._header_bytes))])
        self.header_open = bool(continues)
        scan.header = self._header_bytes.decode(self.encoding, errors="replace").lstrip("\ufeff").rstrip("\r\n")
        if not self.header_open:
            state.header_fields = len(split_fields(scan.header, self.header_sep)) if self.header_sep else 1

    def _quoted_fields(self, block: bytearray, size: int, ends: np.ndarray, toggles: np.ndarray,
                       flips_before_end: np.ndarray, end_inside: np.ndarray, carried: bool) -> None:
        """Quoted fields that span lines looking like whole records, and the field left open.

        Toggle k of the block opens a field when k + carried is even and closes it otherwise. A
        line lies wholly inside one quoted field when the line ends before and after it both do
        with no toggle between them; its field opened at toggle (flips before it) - 1 (-1: the
        field open since an earlier block) and closes at toggle (flips before it).
        """
        state = self.state
        flips = np.concatenate(([0], flips_before_end))
        inside = np.concatenate(([carried], end_inside))
        interior = np.flatnonzero(inside[:-1] & inside[1:] & (flips[:-1] == flips[1:]))
        record_like = np.empty(0, dtype=np.int64)
        if len(interior) and self.count_sep is not None:
            threshold = max((state.header_fields or 2) - 2, 1)
            line_start = np.where(interior > 0, ends[np.maximum(interior - 1, 0)] + 1, 0)
            line_end = ends[interior]
            low, high = int(line_start[0]), int(line_end[-1])
            part = np.frombuffer(block, dtype=np.uint8, count=high - low, offset=low)
            separators = np.flatnonzero(part == self.count_sep) + low
            counts = np.searchsorted(separators, line_end) - np.searchsorted(separators, line_start)
            record_like = interior[counts >= threshold]

        if carried:
            self._note_record_like(block, ends, record_like[flips[record_like] == 0])
            if len(toggles):
                self._close(int(self._line_of(ends, toggles[0])))
        opened_here = record_like[flips[record_like] > 0]
        handled = set()
        for flips_before in np.unique(flips[opened_here]).tolist():
            self._open(block, size, ends, end_inside, carried, int(toggles[flips_before - 1]))
            self._note_record_like(block, ends, opened_here[flips[opened_here] == flips_before])
            handled.add(flips_before)
            if flips_before < len(toggles):
                self._close(int(self._line_of(ends, toggles[flips_before])))
        open_at_end = (len(toggles) + carried) % 2 == 1
        if open_at_end and len(toggles) and len(toggles) not in handled:
            self._open(block, size, ends, end_inside, carried, int(toggles[-1]))

    def _open(self, block: bytearray, size: int, ends: np.ndarray, end_inside: np.ndarray, carried: bool,
              position: int) -> None:
        state = self.state
        k = int(np.searchsorted(ends, position))
        start = int(ends[k - 1]) + 1 if k else 0
        end = int(ends[k]) if k < len(ends) else size
        state.open_line = state.lines_before + k + 1
        state.open_excerpt = _excerpt(block, start, end, position, self.encoding)
        starts_record = not (bool(end_inside[k - 1]) if k else carried)
        state.open_field_index = _field_index(block, start, position, self.count_sep) if starts_record else None
        state.open_record_like, state.open_record_like_line, state.open_record_like_excerpt = 0, None, ""

    def _note_record_like(self, block: bytearray, ends: np.ndarray, lines: np.ndarray) -> None:
        state = self.state
        if not len(lines):
            return
        if state.open_record_like_line is None:
            first = int(lines[0])
            start = int(ends[first - 1]) + 1 if first else 0
            state.open_record_like_line = state.lines_before + first + 1
            state.open_record_like_excerpt = _excerpt(block, start, int(ends[first]), None, self.encoding)
        state.open_record_like += len(lines)

    def _close(self, line: int) -> None:
        state = self.state
        if state.open_record_like:
            self._problem(CsvProblem("stray_quote", state.open_line, state.open_excerpt, state.open_field_index,
                                     line, state.open_record_like, state.open_record_like_line,
                                     state.open_record_like_excerpt))
        state.open_record_like, state.open_record_like_line = 0, None

    def finish(self) -> None:
        state, scan = self.state, self.scan
        scan.lines = state.lines_before + (0 if self.ends_with_line_end else 1)
        if state.inside:
            self._problem(CsvProblem("unterminated_quote", state.open_line, state.open_excerpt, state.open_field_index,
                                     None, state.open_record_like, state.open_record_like_line,
                                     state.open_record_like_excerpt))


def scan_csv(path: str | Path, sep: str = ",", encoding: str = "utf-8", *, skip_initial_space: bool = True,
             chunk_size: int = CHUNK_SIZE) -> CsvScan:
    """Count the records of a CSV file from its bytes and find quoting that loses rows.

    Parameters
    ----------
    path
        The file; gzip-compressed content is decompressed as it is read.
    sep
        The field separator. With a separator of several characters the file is read as pandas'
        Python engine does, quotes being ordinary characters (``r"\\s+"`` keeps quoting).
    encoding
        The file's encoding: it decides whether the raw bytes can be scanned as they are, and
        decodes the header and the excerpts.
    skip_initial_space
        A quote after a separator and spaces opens a quoted field (pandas' ``skipinitialspace``).
    chunk_size
        Bytes read at a time; memory use is a small multiple of it.

    Returns
    -------
    CsvScan
        Records (header included), the line each starts on, the header text and the problems.
    """
    if not isinstance(sep, str) or not sep:
        raise ValueError(f"sep must be a non-empty string, got {sep!r}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    path = Path(path)
    whitespace_sep = sep == r"\s+"
    single = len(sep) == 1
    special = b'"\n\r \t' + (sep.encode("utf-8") if single else b"")
    raw_bytes = _bytes_are_safe(encoding, special)
    work_encoding = encoding if raw_bytes else "utf-8"
    if _codec_name(work_encoding) in ("utf-8", "utf-8-sig"):
        work_encoding = "utf-8"
    if single:
        sep_byte = sep.encode(work_encoding)[0]
        field_starts = (sep_byte, _LF, _CR)
    else:
        sep_byte, field_starts = None, ((_SPACE, _TAB, _LF, _CR) if whitespace_sep else (_LF, _CR))
    scan = CsvScan(path)
    scanner = _Scanner(scan, sep_byte, field_starts, single or whitespace_sep, skip_initial_space and single,
                       work_encoding, sep if single else None)
    for block, size in _blocks(path, encoding, raw_bytes, chunk_size):
        scanner.block(block, size)
    scanner.finish()
    return scan


@dataclass(frozen=True)
class DecodeFailure:
    """The first bytes of a file that are not valid text in an encoding.

    ``offset`` counts bytes from the start of the (decompressed) file, ``line`` is 1-based and
    ``line_bytes[column]`` is the first bad byte.
    """

    offset: int
    line: int
    column: int
    reason: str
    bad_bytes: bytes
    line_bytes: bytes


def _count_line_ends(data: bytes, after_cr: bool) -> int:
    """Line ends in ``data``; ``after_cr``: the bytes before it ended with ``\\r``."""
    count = data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")
    return count - 1 if after_cr and data.startswith(b"\n") else count


def _last_line_end(data: bytes) -> int:
    return max(data.rfind(b"\n"), data.rfind(b"\r"))


def first_undecodable(path: str | Path, encoding: str, chunk_size: int = 1 << 20) -> DecodeFailure | None:
    """Where the file first fails to decode as ``encoding``, or ``None`` when all of it decodes.

    The bytes are fed block by block to an incremental decoder, so the offset is counted over the
    whole file (decompressed when it is gzip), not within the block the error occurred in.

    Parameters
    ----------
    path
        The file.
    encoding
        The encoding it is declared to be in.
    chunk_size
        Bytes fed to the decoder at a time.

    Returns
    -------
    DecodeFailure or None
        Byte offset, 1-based line, position in the line and the bytes of that line.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    name = _codec_name(encoding)
    decoder = codecs.getincrementaldecoder("utf-8" if name == "utf-8-sig" else encoding)("strict")
    fed, lines, after_cr = 0, 0, False
    line_so_far = b""  # the bytes of the current line read in earlier blocks
    with open_raw(Path(path)) as handle:
        block = handle.read(chunk_size)
        if name == "utf-8-sig" and block.startswith(_BOM):
            block, fed = block[len(_BOM):], len(_BOM)
        while True:
            final = not block
            buffered = len(decoder.getstate()[0])
            try:
                decoder.decode(block, final=final)
            except UnicodeDecodeError as exc:
                # exc.start counts from the bytes the decoder still held from the block before
                # (local < 0: the bad sequence began at the end of that block).
                local = exc.start - buffered
                before = block[:max(local, 0)]
                last = _last_line_end(before)
                line_head = line_so_far + before if last < 0 else before[last + 1:]
                column = len(line_head) + min(local, 0)
                rest = block[max(local, 0):]
                while b"\n" not in rest and b"\r" not in rest and len(rest) < (1 << 16):
                    more = handle.read(chunk_size)  # the rest of the line, for the excerpt
                    if not more:
                        break
                    rest += more
                stop = min([i for i in (rest.find(b"\n"), rest.find(b"\r")) if i >= 0] or [len(rest)])
                return DecodeFailure(fed + local, lines + _count_line_ends(before, after_cr) + 1, column, exc.reason,
                                     bytes(exc.object[exc.start:exc.end]), line_head + rest[:stop])
            if final:
                return None
            lines += _count_line_ends(block, after_cr)
            after_cr = block.endswith(b"\r")
            last = _last_line_end(block)
            line_so_far = (line_so_far + block if last < 0 else block[last + 1:])[-(1 << 16):]
            fed += len(block)
            block = handle.read(chunk_size)

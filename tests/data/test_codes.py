"""Positions of text values in an index, by Arrow for Arrow text and by pandas otherwise."""
import pandas as pd
import pyarrow as pa

from helpers.data.codes import positions


def test_positions_of_arrow_text_equal_pandas_get_indexer():
    index = pd.Index(pd.array(["a", "b", "é"], dtype="string[pyarrow]"))
    # two chunks, a missing value and values not in the index
    values = pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array([["é", None], ["z", "a", "b", "a"]])))
    assert positions(values, index).tolist() == [2, -1, -1, 0, 1, 0]
    assert positions(values, index).tolist() == index.get_indexer(values).tolist()
    assert positions(values.iloc[:0], index).tolist() == []


def test_positions_of_other_values_come_from_pandas():
    assert positions(pd.Series([3, 1, 7]), pd.Index([1, 3])).tolist() == [1, 0, -1]
    assert positions(pd.Series(["b", None], dtype=object), pd.Index(["a", "b"])).tolist() == [1, -1]


def test_is_in_of_arrow_text_equals_pandas_isin_for_every_kind_of_candidates():
    from helpers.data.codes import is_in
    values = pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array([["é", None], ["z", "a", "b", "a"]])))
    arrow = pd.Series(["a", "é"], dtype="string[pyarrow]")
    for candidates, expected in ((arrow, [True, False, False, True, False, True]),
                                 (pd.Index(arrow), [True, False, False, True, False, True]),
                                 (arrow.unique(), [True, False, False, True, False, True]),
                                 ({"b", None}, [False, True, False, False, True, False]),
                                 (["z"], [False, False, True, False, False, False]), (set(), [False] * 6)):
        assert is_in(values, candidates).tolist() == expected
        assert values.isin(candidates).tolist() == expected
    assert is_in(pd.Series([3, 1, 7]), {1, 7}).tolist() == [False, True, True]

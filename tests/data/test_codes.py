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

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from helpers.plotting import available_cjk_fonts, label, new_axes, setup_style  # noqa: E402


def test_style_sets_cjk_fallback_after_the_default_font():
    setup_style()
    families = plt.rcParams["font.family"]
    assert families[0] == "DejaVu Sans"
    assert families[1:] == available_cjk_fonts()


def test_chinese_label_renders_without_missing_glyphs(recwarn):
    if not available_cjk_fonts():
        pytest.skip("no CJK font on this machine (make fonts installs one on Debian)")
    setup_style()
    ax = label(new_axes(), "华东 客户数", "月份", "客户数 (人)")
    ax.figure.canvas.draw()
    assert not [w for w in recwarn if "missing from font" in str(w.message)]
    plt.close(ax.figure)

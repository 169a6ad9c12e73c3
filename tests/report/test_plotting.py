import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from helpers.report.plotting import available_cjk_fonts, label, new_axes, setup_style  # noqa: E402


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


def test_labels_from_data_are_never_parsed_as_mathtext(tmp_path):
    setup_style()
    labels = [r"$\alert{x}$", "50% $ off"]
    ax = new_axes()
    ax.bar(labels, [3, 5])
    ax.set_title(r"$\alert{x}$")
    ax.set_xlabel("50% $ off")
    ax.figure.savefig(tmp_path / "chart.png")   # with mathtext on, \alert raises a ValueError here
    assert (tmp_path / "chart.png").read_bytes().startswith(b"\x89PNG")
    texts = [*ax.get_xticklabels(), ax.title, ax.xaxis.label]
    assert [t.get_text() for t in texts] == [*labels, r"$\alert{x}$", "50% $ off"]
    assert not any(t.get_parse_math() for t in texts)   # drawn as written, dollar signs included
    plt.close(ax.figure)

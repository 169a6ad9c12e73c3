import pandas as pd
import pytest

from helpers.data.privacy import KINDS, TOKENS, is_luhn_valid, is_valid_id_number, scrub_text


def scrub(*comments: str, **options) -> list[str]:
    scrubbed, _ = scrub_text(pd.Series(comments, dtype="string"), **options)
    return scrubbed.tolist()


# --- the checks themselves, on numbers worked out by hand ---

def test_id_checksum_on_worked_examples():
    # 11010519491231002X (the standard's published example): digits 1 1 0 1 0 5 1 9 4 9 1 2 3 1 0 0 2
    # times weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2 = 7+9+0+5+0+20+2+9+24+27+7+18+30+5+0+0+4 = 167;
    # 167 mod 11 = 2 and "10X98765432"[2] = "X".
    assert is_valid_id_number("11010519491231002X")
    assert is_valid_id_number("11010519491231002x")  # a lower-case x is typed often
    # 44030819900101123?: 28+36+0+15+0+32+2+9+54+0+0+9+0+5+8+8+6 = 212; 212 mod 11 = 3 -> "9".
    assert is_valid_id_number("440308199001011239")
    assert not is_valid_id_number("440308199001011234")
    assert not is_valid_id_number("110105194912310021")  # the check character should be X
    assert not is_valid_id_number("11010519491231002")   # 17 characters
    assert not is_valid_id_number("1101051949123100²X")  # a superscript is not a digit


def test_luhn_on_worked_examples():
    # 6222021234567894 from the right: kept digits 4 8 6 4 2 2 2 2 sum to 30; doubled digits
    # 9 7 5 3 1 0 2 6 -> 18 14 10 6 2 0 4 12 -> 9 5 1 6 2 0 4 3 sum to 30; 60 is a multiple of 10.
    assert is_luhn_valid("6222021234567894")
    assert not is_luhn_valid("6222021234567890")
    assert is_luhn_valid("4111111111111111") and not is_luhn_valid("4111111111111112")
    assert is_luhn_valid("378282246310005")   # American Express test number, 15 digits
    assert is_luhn_valid("4222222222222")     # Visa test number, 13 digits
    assert not is_luhn_valid("4111 1111")


# --- each kind in Chinese and English comments ---

def test_emails_including_phone_number_mailboxes():
    assert scrub("您好，我的邮箱是zhang.wei@163.com，请尽快联系。",
                 "Reply to li.wei+orders@example.co.uk please",
                 "QQ邮箱13800138000@qq.com", "全角 li＠example.com") == [
        "您好，我的邮箱是[e-mail]，请尽快联系。", "Reply to [e-mail] please", "QQ邮箱[e-mail]", "全角 [e-mail]"]


def test_chinese_mobiles_and_landlines():
    assert scrub("我的手机是13800138000，请回电", "退款请打138-0013-8000或139 0013 9000",
                 "电话+86 138 0013 8000、0086 13800138000、(+86)13800138000、8613800138000",
                 "座机010-12345678转806，上海（021）6123 4567", "Call (021) 6123-4567 ext. 12 or 0755-8888 8888",
                 "全角号码：１３８００１３８０００") == [
        "我的手机是[phone]，请回电", "退款请打[phone]或[phone]",
        "电话[phone]、[phone]、[phone]、[phone]",
        "座机[phone]，上海[phone]", "Call [phone] or [phone]",
        "全角号码：[phone]"]


def test_international_numbers():
    assert scrub("Call me on +44 20 7946 0958 or +1 (415) 555-0100 after 6pm.",
                 "Office 0044 20 7946 0958, met on +44 20 7946 0958 2026-07-01") == [
        "Call me on [phone] or [phone] after 6pm.", "Office [phone], met on [phone] 2026-07-01"]


def test_id_numbers_need_a_valid_checksum():
    assert scrub("身份证号：11010519491231002X，另一个440308199001011239。", "ID 110105 19491231 002X please") == [
        "身份证号：[ID number]，另一个[ID number]。", "ID [ID number] please"]
    # A failing checksum is no ID number, but 18 digits are still masked as a long number ...
    assert scrub("身份证号：110105194912310021（校验位错了）") == ["身份证号：[number]（校验位错了）"]
    # ... unless long numbers are to be kept.
    assert scrub("身份证号：110105194912310021", mask_long_numbers=False) == ["身份证号：110105194912310021"]


def test_card_numbers_need_the_luhn_check():
    assert scrub("My card 4111 1111 1111 1111 was charged twice", "Amex 3782 822463 10005 declined",
                 "银行卡6222021234567894扣款两次", "卡号 6222-0212-3456-7890-128") == [
        "My card [card number] was charged twice", "Amex [card number] declined",
        "银行卡[card number]扣款两次", "卡号 [card number]"]
    # Luhn-invalid: 16 digits are masked as a long number, a 13-digit one is an ordinary number.
    assert scrub("old card 4111 1111 1111 1112", "ref 4222222222223", mask_long_numbers=True) == [
        "old card [number]", "ref 4222222222223"]
    assert scrub("old card 4111 1111 1111 1112", mask_long_numbers=False) == ["old card 4111 1111 1111 1112"]


def test_a_card_after_a_phone_in_the_same_run_is_found():
    assert scrub("13800138000 4111111111111111", "phones 13800138000 13900139000") == [
        "[phone] [card number]", "phones [phone] [phone]"]


def test_ordinary_numbers_survive():
    ordinary = ["Order A123456 for ¥3,200 placed 2026-07-01: model R5 at 15% off, 2 units, version 2.4.1",
                "订单号20260701123456，金额¥12,800.50，满意度95%，型号R5，7月1日到货",
                "Hotline 400-820-8820 and 95588 were busy from 09:00-18:00; +5 stars",
                "运单SF1234567890123，ISBN 9787115428028，共3,200台，涨价-12.5%",
                "rated 4.5/5, ticket #88231, 1380 yuan, room 1203, 2026-07-01 to 2026-09-30"]
    assert scrub(*ordinary) == ordinary


def test_customer_names_per_comment():
    text = pd.Series(["Dear LI  WEI, thanks. Li Weiss is someone else.", "王芳说东西坏了，王芳很失望", "X said ok",
                      "尊敬的Li Wei先生", "no name here", None])
    names = pd.Series(["Li Wei", "王芳", "X", "li wei", None, "Li Wei"])
    scrubbed, counts = scrub_text(text, names)
    assert scrubbed.tolist()[:5] == ["Dear [name], thanks. Li Weiss is someone else.", "[name]说东西坏了，[name]很失望",
                                     "X said ok", "尊敬的[name]先生", "no name here"]
    assert scrubbed.isna().tolist() == [False] * 5 + [True]
    assert counts["name"] == 3



def test_a_name_inside_a_longer_word_is_looked_for_again_one_character_on():
    # "ana" at 1 is inside "banana" (letters either side) and so is "ana" at 3; the one after the
    # hyphen and the capitalised one stand alone. "Éva" in "Évak" and "Évaristo" is not the name.
    text = pd.Series(["banana ana-ANA", "anana", "Évak Éva, Évaristo, éva"])
    scrubbed, counts = scrub_text(text, pd.Series(["ana", "ana", "Éva"]))
    assert scrubbed.tolist() == ["banana [name]-[name]", "anana", "Évak [name], Évaristo, [name]"]
    assert counts["name"] == 2

# --- counts, types and arguments ---

def test_counts_are_comments_changed_per_kind():
    text = pd.Series(["13800138000 and 13900139000", "li@x.com 4111111111111111", "nothing", None,
                      "11010519491231002X", "1234567890123456789012"], index=[7, 7, 8, 9, 10, 11])
    scrubbed, counts = scrub_text(text)
    assert counts == {"email": 1, "phone": 1, "id_number": 1, "card_number": 1, "long_number": 1, "name": 0}
    assert list(counts) == list(KINDS) and set(TOKENS) == set(KINDS)
    assert scrubbed.index.tolist() == [7, 7, 8, 9, 10, 11]   # a repeated index is kept as it is
    assert scrubbed.tolist()[:3] == ["[phone] and [phone]", "[e-mail] [card number]", "nothing"]
    assert isinstance(scrubbed.dtype, pd.StringDtype) and scrubbed.isna().tolist()[3]


def test_object_and_str_input_and_empty():
    for dtype in (object, "str", "string"):
        scrubbed, _ = scrub_text(pd.Series(["call 13800138000", None], dtype=dtype))
        assert scrubbed.iloc[0] == "call [phone]" and pd.isna(scrubbed.iloc[1])
    scrubbed, counts = scrub_text(pd.Series([], dtype="string"))
    assert scrubbed.empty and set(counts.values()) == {0}


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="text must hold text"):
        scrub_text(pd.Series([13800138000]))
    with pytest.raises(ValueError, match="must be a pandas Series"):
        scrub_text(["13800138000"])
    with pytest.raises(ValueError, match="same index as text"):
        scrub_text(pd.Series(["a", "b"]), pd.Series(["Li Wei", "王芳"], index=[1, 2]))

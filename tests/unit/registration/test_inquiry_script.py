"""The inquiry form's "alphabetic input": Latin letters with their diacritics and
Japanese script, never simplified Chinese characters."""

import pytest

from kernel.rules import RuleViolation
from services.registration.domain.inquiry import check_inquiry_text


@pytest.mark.parametrize(
    "text",
    [
        "Nguyễn Thị Ánh",
        "Đặng Văn Lâm",
        "José Ñúñez",
        "山田 太郎",
        "髙橋 健一",  # hashigo-daka: Windows-31J, not JIS X 0213
        "山﨑 花子",  # tatsu-saki: a compatibility ideograph names use
        "渡邊",
        "国立大学に在学中です。",  # shared with simplified Chinese, and Japanese
        "カタカナ・ひらがな・ＡＢＣ",
    ],
)
def test_latin_with_diacritics_and_japanese_are_accepted(text):
    check_inquiry_text("name", text)


@pytest.mark.parametrize("text", ["张伟", "我们", "这个", "龙", "东京", "汉语", "Li 张"])
def test_characters_only_simplified_chinese_uses_are_refused(text):
    with pytest.raises(RuleViolation) as refused:
        check_inquiry_text("name", text)
    assert refused.value.field == "name"
    assert text not in str(refused.value), "the message names no personal data"


@pytest.mark.parametrize("text", ["Привет", "مرحبا", "안녕"])
def test_other_scripts_are_refused(text):
    with pytest.raises(RuleViolation):
        check_inquiry_text("text", text)

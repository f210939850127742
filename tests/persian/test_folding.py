"""The folding shared by the NLU's features and the knowledge base's retrieval."""

from __future__ import annotations

from persian.folding import join_word_parts, skeleton_word, squeeze_stretched


def test_every_way_of_typing_a_words_parts_gives_one_form() -> None:
    forms = ["می\u200cخوام", "می خوام", "میخوام"]
    assert {join_word_parts(f) for f in forms} == {"میخوام"}
    assert (
        join_word_parts("بیمه ام  فعاله")
        == join_word_parts("بیمه\u200cام فعاله")
        == "بیمهام فعاله"
    )
    assert join_word_parts("سوابق ها") == "سوابقها"


def test_stretched_letters_are_written_once_but_digits_stay() -> None:
    assert squeeze_stretched("سلاااام") == "سلام"
    assert squeeze_stretched("1111") == "1111"


def test_the_skeleton_is_the_same_for_finglish_and_persian_script() -> None:
    pairs = [("bimam", "بیمهام"), ("faale", "فعاله"), ("khodahafez", "خداحافظ"), ("bimeh", "بیمه")]
    for finglish, persian in pairs:
        assert skeleton_word(finglish) == skeleton_word(persian), (finglish, persian)
    assert skeleton_word("1420") == "1420"
    assert skeleton_word("بیمه") != skeleton_word("شکایت")

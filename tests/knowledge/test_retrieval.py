"""Retrieval: the right entry for a paraphrase, no answer for other questions, "did you mean".

The first tests use a small knowledge base written here, so they check the mechanism whatever
the content; the last ones ask the real ``knowledge/`` folder with the tuned defaults, with
questions written for these tests (not copied from the entries' variants).
"""

from __future__ import annotations

import pytest

from services.knowledge import (
    Entry,
    KnowledgeBase,
    KnowledgeConfig,
    KnowledgeIndex,
    build_index,
    parse_entry,
)
from services.knowledge.text import Views, canonical, skeleton_word
from tests.knowledge.conftest import make_entry, toy_config

SMALL = {
    "voluntary-deadline": [
        "بعد از قرارداد بیمه اختیاری چند روز مهلت پرداخت دارم؟",
        "مهلت پرداخت حق بیمه اختیاری",
    ],
    "voluntary-exam": [
        "معاینه پزشکی بیمه اختیاری رو تا کی باید انجام بدم؟",
        "مهلت معاینات پزشکی",
    ],
    "daughter-cover": ["چرا دخترم بیمه نداره؟", "دختر مجردم فاقد حمایت درمانی است"],
    "pension-bonus": ["عیدی بازنشستگان کی واریز میشه؟", "مبلغ عیدی مستمری‌بگیران"],
    "change-mobile": ["شماره موبایلم رو چطوری عوض کنم؟", "تغییر شماره همراه ثبت شده"],
    "employer-deadline": ["مهلت ارسال لیست بیمه کارفرما", "کارفرما تا کی لیست بده"],
}


def small_entries() -> list[Entry]:
    return [parse_entry(make_entry(i, q), i) for i, q in SMALL.items()]


@pytest.fixture
def small() -> KnowledgeIndex:
    # Six entries make a flat idf, so scores run lower than in the real index: its own threshold.
    return build_index(small_entries(), toy_config(threshold=0.38, ambiguity_margin=0.05))


def best_id(index: KnowledgeIndex | KnowledgeBase, question: str) -> str | None:
    best = index.search(question).best
    return best.entry.id if best else None


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("می‌خوام بیمه‌ام رو ببینم", "می خوام بیمه ام رو ببینم"),
        ("می‌خوام بیمه‌ام رو ببینم", "میخوام بیمهام رو ببینم"),
        ("كد ملي ۱۲۳", "کد ملی 123"),
        ("کد ملی ١٢٣", "کد ملی 123"),
        ("سلاااام، آقا!", "سلام اقا"),
        ("۲۰روز", "20 روز"),
    ],
)
def test_spellings_of_one_question_fold_to_one_text(a: str, b: str) -> None:
    assert canonical(a) == canonical(b)


@pytest.mark.parametrize(
    ("finglish", "persian"),
    [("ekhtiari", "اختیاری"), ("bimeh", "بیمه"), ("mohlat", "مهلت"), ("dokhtaram", "دخترم")],
)
def test_finglish_and_persian_share_a_skeleton(finglish: str, persian: str) -> None:
    assert skeleton_word(finglish) == skeleton_word(persian)


def test_variants_of_spelling_score_the_same(small: KnowledgeIndex) -> None:
    plain = small.variant_scores("چرا دخترم بیمه نداره")
    for variant in ("چرا دخترم بيمه نداره", "چرا دخترم بیمه‌ نداره؟!", "  چرا   دخترم بیمه نداره "):
        assert small.variant_scores(variant) == pytest.approx(plain)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("مهلت پرداخط بیمه اختیاري چند روزه", "voluntary-deadline"),  # typo, Arabic ي
        ("دخترم چرا حمایت درمانی نداره", "daughter-cover"),
        ("عيدي بازنشسته‌ها", "pension-bonus"),
        ("شماره‌ی موبایلمو عوض کنم", "change-mobile"),
    ],
)
def test_a_paraphrase_finds_its_entry(small: KnowledgeIndex, question: str, expected: str) -> None:
    result = small.search(question)
    assert result.best is not None and result.best.entry.id == expected
    assert result.confident
    assert result.offered[0].entry.id == expected


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("mohlat pardakht bimeh ekhtiari", "voluntary-deadline"),
        ("dokhtaram bime nadare", "daughter-cover"),
        ("eydi bazneshastegan", "pension-bonus"),
    ],
)
def test_finglish_finds_an_entry_written_only_in_persian(
    small: KnowledgeIndex, question: str, expected: str
) -> None:
    # Through the skeleton view alone, so it ranks first without being confident; the real
    # entries carry Finglish variants of their own for the words and n-grams views.
    assert best_id(small, question) == expected


def test_matches_are_distinct_entries_best_first_with_the_variant_that_scored(
    small: KnowledgeIndex,
) -> None:
    result = small.search("مهلت پرداخت بیمه")
    ids = [m.entry.id for m in result.matches]
    assert len(ids) == len(set(ids)) == 3
    scores = [m.score for m in result.matches]
    assert scores == sorted(scores, reverse=True)
    for match in result.matches:
        assert match.variant in (*match.entry.questions, match.entry.title)


def test_close_entries_are_ambiguous_and_both_offered() -> None:
    entries = [
        parse_entry(make_entry("voluntary", ["مهلت پرداخت حق بیمه اختیاری"]), "a"),
        parse_entry(make_entry("employer", ["مهلت پرداخت حق بیمه کارفرما"]), "b"),
        parse_entry(make_entry("bonus", ["عیدی بازنشستگان"]), "c"),
    ]
    index = build_index(entries, toy_config(threshold=0.3, ambiguity_margin=0.1))
    result = index.search("مهلت پرداخت حق بیمه")
    assert result.confident and result.ambiguous
    assert {m.entry.id for m in result.offered} == {"voluntary", "employer"}
    clear = index.search("مهلت پرداخت حق بیمه کارفرما")
    assert clear.confident and not clear.ambiguous
    assert [m.entry.id for m in clear.offered] == ["employer"]
    no_margin = build_index(entries, toy_config(threshold=0.3, ambiguity_margin=0.0))
    assert not no_margin.search("مهلت پرداخت حق بیمه").ambiguous


def test_below_the_threshold_nothing_is_offered(small: KnowledgeIndex) -> None:
    result = small.search("یارانه این ماه کی واریز میشه")
    assert not result.confident and not result.ambiguous
    assert result.offered == ()


def test_a_question_closest_to_a_rejection_line_loses_its_confidence() -> None:
    entries = [
        parse_entry(make_entry("payslip", ["فیش حقوقی بازنشستگی تامین اجتماعی"]), "a"),
        parse_entry(make_entry("bonus", ["عیدی بازنشستگان"]), "b"),
    ]
    rejections = ["فیش حقوقی بانک ملت", "فیش حقوقی فرهنگیان", "قیمت دلار"]
    config = toy_config(threshold=0.25, rejection_weight=1.0)
    index = build_index(entries, config, rejections)
    other = index.search("فیش حقوقی بانک")
    assert other.best is not None and other.best.entry.id == "payslip"
    assert other.rejection > other.best.score / 2
    assert other.confidence == pytest.approx(other.best.score - other.rejection)
    assert not other.confident and other.offered == ()
    ours = index.search("فیش حقوقی بازنشستگی تامین")
    assert ours.confident and ours.offered[0].entry.id == "payslip"
    assert ours.rejection < ours.best.score / 2  # type: ignore[union-attr]
    without = build_index(entries, toy_config(threshold=0.25)).search("فیش حقوقی بانک")
    assert without.rejection == 0.0 and without.confident


def test_a_rejection_line_that_is_an_entry_s_own_variant_is_not_used(
    caplog: pytest.LogCaptureFixture,
) -> None:
    entries = [parse_entry(make_entry("military", ["خرید سربازی", "سابقه سربازی"]), "a")]
    config = toy_config(threshold=0.3, rejection_weight=1.0)
    index = build_index(entries, config, ["خرید سربازی!", "کارت پایان خدمت"])
    assert index.overlapping_rejections == ("خرید سربازی!",)
    assert "1 rejection line(s) are also question variants" in caplog.text
    assert index.search("خرید سربازی").confident


def test_an_index_tuned_with_rejection_lines_refuses_to_be_built_without() -> None:
    with pytest.raises(ValueError, match="rejection lines"):
        build_index(small_entries(), KnowledgeConfig(rejection_weight=1.0))


@pytest.mark.parametrize("question", ["", "؟؟؟", "🙂🙂", "   "])
def test_a_question_without_words_finds_nothing(small: KnowledgeIndex, question: str) -> None:
    assert small.search(question).matches == ()


def test_an_empty_index_finds_nothing() -> None:
    result = build_index([], toy_config()).search("بیمه اختیاری")
    assert result.matches == () and not result.confident


def test_views_cut_words_ngrams_and_skeleton() -> None:
    views = Views("بیمه‌ام فعاله؟")
    assert views.words == ["بیمهام", "فعاله"]
    assert "<بی" in views.chars and "اله>" in views.chars
    assert views.tokens("skeleton") == views.skeleton and views.skeleton


# The real knowledge base with the tuned defaults. Questions written for these tests, in the
# ways people write: colloquial, typos, Arabic letters, Finglish, half-spaces left out.
WRONG_ENTRY = pytest.mark.xfail(
    reason="answered with a neighbouring entry («سهم بیمه بیکاری» ranks first): the lexical "
    "retrieval's known limit (about a quarter of held-out variants are answered with a wrong "
    "entry, see KnowledgeConfig)",
    strict=False,
)
RANKED = [
    ("بیمه اختیاری بستم، تا چند روز فرصت دارم پولشو بریزم؟", "voluntary-payment-deadline"),
    ("مهلت واریز حق بیمه اختياري بعد قرارداد", "voluntary-payment-deadline"),
    ("دختر مجردم چرا تو داروخانه بیمه نداره", "eligibility-daughter-no-cover"),
    ("استعفا بدم بیمه بیکاری تعلق میگیره؟", "unemployment-who"),
    ("bime bikari be ki mirese", "unemployment-who"),
    ("شماره موبايلم عوض شده تو سامانه تامين چطور عوضش کنم", "account-change-mobile"),
    ("کد دستوری تامین اجتماعی برای گوشی ساده", "channels-ussd-code"),
    ("نزدیکترین شعبه تامین اجتماعی به خونه ما کجاست", "branches-nearest"),
    ("هنوز باید دفترچه درمانی رو تمدید کنم؟", "booklet-renewal-not-needed"),
    ("شرایط گرفتن هدیه ازدواج از تامین چیه", "marriage-allowance-conditions"),
    ("عیدی بازنشسته های تامین امسال چقدره", "pension-eidi"),
]

# All of them rank the right entry first or second; these are answered with another one.
KNOWN_WRONG = {"bime bikari be ki mirese"}
PARAPHRASES = [
    pytest.param(q, e, marks=WRONG_ENTRY) if q in KNOWN_WRONG else (q, e) for q, e in RANKED
]

GENERAL = [
    "هوای تهران فردا بارونیه؟",
    "پایتخت استرالیا کجاست",
    "یه دستور پخت قورمه سبزی بگو",
    "قیمت دلار امروز چنده",
    "نتیجه بازی پرسپولیس",
    "چطوری پاسپورت بگیرم",
    "وام مسکن بانک ملی",
    "یارانه این ماه کی واریز میشه",
    "بیمه شخص ثالث ماشینم تموم شده",
    "tarikh emrooz chande",
]


@pytest.mark.parametrize(("question", "expected"), PARAPHRASES)
def test_the_real_knowledge_base_answers_paraphrases(
    real_knowledge: KnowledgeBase, question: str, expected: str
) -> None:
    result = real_knowledge.search(question)
    assert result.confident, [(m.entry.id, round(m.score, 3)) for m in result.matches]
    assert expected in [m.entry.id for m in result.offered]


@pytest.mark.parametrize(("question", "expected"), RANKED)
def test_the_real_knowledge_base_ranks_the_right_entry_among_the_first_two(
    real_knowledge: KnowledgeBase, question: str, expected: str
) -> None:
    found = [m.entry.id for m in real_knowledge.search(question).matches[:2]]
    assert expected in found, found


@pytest.mark.parametrize("question", GENERAL)
def test_the_real_knowledge_base_rejects_general_questions(
    real_knowledge: KnowledgeBase, question: str
) -> None:
    result = real_knowledge.search(question)
    assert not result.confident, [(m.entry.id, round(m.score, 3)) for m in result.matches]

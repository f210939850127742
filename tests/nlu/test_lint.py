"""The data linter: each check on data made to break it, and the real data passing them all."""

from __future__ import annotations

from nlu import INTENTS, OUT_OF_SCOPE, NluSettings
from nlu.lint import DOMAIN_INTENTS, lint, read_test_lines
from nlu.model import SMALL_TALK
from nlu.settings import DEFAULT_DATA_DIR, DEFAULT_TEST_DIR, read_config_section
from nlu.training_data import Example, TrainingData, load_training_data

LOW = NluSettings(
    min_examples_domain=2,
    min_examples_small_talk=1,
    min_examples_out_of_scope=3,
    max_example_length=40,
)


def _clean_data() -> TrainingData:
    examples = [Example(f"{intent} نمونه {i}", intent) for intent in INTENTS for i in range(3)]
    return TrainingData(examples=examples)


def test_clean_data_passes() -> None:
    result = lint(_clean_data(), ["یک خط آزمون"], LOW)
    assert result.ok, result.problems
    assert result.examples == 3 * len(INTENTS)


def test_each_check_finds_its_problem() -> None:
    data = _clean_data()
    data.examples += [
        # the same line, folded (half-space, Arabic letter, digits), in two intents
        Example("می‌خوام بیمه‌ام رو ببینم ۱۲", "check_eligibility", source="a.yml:x"),
        Example("ميخوام بيمه ام رو ببينم 34", "insurance_record", source="b.yml:y"),
        Example("خ" * 41, "help", source="c.yml:help"),
        Example("خطی که در آزمون هم هست", "greet", source="d.yml:greet"),
    ]
    # no pension_slip at all, and one out_of_scope line fewer than the minimum
    data.examples = [
        e for e in data.examples if e.intent != "pension_slip" and e.text != "out_of_scope نمونه 2"
    ]
    result = lint(data, ["خطی كه در آزمون هم هست!"], LOW)
    checks = sorted({p.check for p in result.problems})
    assert checks == ["duplicate", "minimum", "test line", "too long"]
    messages = {
        p.check: [q.message for q in result.problems if q.check == p.check]
        for p in result.problems
    }
    assert any("check_eligibility" in m and "insurance_record" in m for m in messages["duplicate"])
    assert sorted(m.split(":")[0] for m in messages["minimum"]) == ["out_of_scope", "pension_slip"]
    assert messages["too long"][0].startswith("c.yml:help: 41 characters")
    assert messages["test line"][0].startswith("d.yml:greet")


def test_domain_intents_are_those_neither_small_talk_nor_out_of_scope() -> None:
    assert set(DOMAIN_INTENTS) == set(INTENTS) - SMALL_TALK - {OUT_OF_SCOPE}
    assert "check_eligibility" in DOMAIN_INTENTS and "greet" not in DOMAIN_INTENTS


def test_the_project_data_passes_the_linter() -> None:
    # Reads the blind set's lines to compare them, never to score a model on them.
    settings = NluSettings.from_section(read_config_section())
    data = load_training_data([DEFAULT_DATA_DIR])
    result = lint(data, read_test_lines([DEFAULT_TEST_DIR]), settings)
    assert result.ok, "\n".join(f"{p.check}: {p.message}" for p in result.problems[:40])


def test_the_minimums_are_the_issue_s() -> None:
    settings = NluSettings.from_section(read_config_section())
    assert (settings.min_examples_domain, settings.min_examples_small_talk) == (250, 80)
    assert settings.min_examples_out_of_scope == 2000
    assert settings.max_example_length == 1000

"""The component: settings, parse results, persist/load round trip, staleness, and the bar."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from nlu import OUT_OF_SCOPE, ModelNotUsable, NluModel, NluSettings, load_or_train
from nlu.evaluate import evaluate
from nlu.features import canonical_text, tail_text
from nlu.training_data import TrainingData
from tests.nlu.conftest import write_small_data

SAMPLES = [
    "میخوام ببینم بیمه‌ام فعاله",
    "ميخوام ببينم بيمه ام فعاله",
    "سلام",
    "estehghagh darman",
    "کد ملی ۰۸۳۰۱۶۶۱۳۰ و موبایل +98 912 123 4567",
    "پیگیری ١٤٢٠-١٢٣٤٥٦",
    "قیمت دلار امروز",
    "",
]


def test_settings_merge_over_defaults_and_refuse_unknown_keys() -> None:
    merged = NluSettings.from_section({"out_of_scope_threshold": 0.5, "data": "nlu/data"})
    assert merged.out_of_scope_threshold == 0.5
    assert merged.data == ("nlu/data",)
    assert merged.char_ngram_max == NluSettings().char_ngram_max
    with pytest.raises(ValidationError):
        NluSettings.from_section({"out_of_scope_treshold": 0.5})
    with pytest.raises(ValidationError):
        NluSettings.from_section({"char_ngram_min": 6, "char_ngram_max": 3})


def test_canonical_text_folds_the_ways_one_word_is_typed() -> None:
    forms = ["می‌خوام", "می خوام", "میخوام", "مي‌خوام"]
    assert len({canonical_text(f) for f in forms}) == 1
    assert canonical_text("بیمه ام") == canonical_text("بیمه‌ام") == canonical_text("بیمه‌ام")
    assert canonical_text("سلاااااام!!") == canonical_text("سلام")
    assert canonical_text("كد ۰۸۳۰۱۶۶۱۳۰") == canonical_text("کد 1234567890")
    assert "1420" in canonical_text("*۱۴۲۰*۴#")


def test_parse_gives_rasa_shape(nlu_model: NluModel) -> None:
    result = nlu_model.parse("بیمه پسرم ۰۹۱۲ ۱۲۳ ۴۵۶۷ فعاله؟").to_rasa_dict()
    assert set(result) >= {"text", "intent", "entities", "intent_ranking"}
    assert set(result["intent"]) == {"name", "confidence"}
    assert result["intent"]["name"] == "check_eligibility"
    assert [(e["entity"], e["value"]) for e in result["entities"]] == [
        ("relation", "son"),
        ("mobile", "09121234567"),
    ]
    for entity in result["entities"]:
        assert {"entity", "value", "start", "end"} <= set(entity)
    ranking = result["intent_ranking"]
    assert ranking[0]["name"] == result["intent"]["name"]
    confidences = [r["confidence"] for r in ranking]
    assert confidences == sorted(confidences, reverse=True)
    assert isinstance(result["ambiguous"], bool) and isinstance(result["fallback"], bool)
    json.dumps(result, ensure_ascii=False)


def test_confidences_are_probabilities(nlu_model: NluModel) -> None:
    proba = nlu_model.classifier.predict_proba(SAMPLES[:-1])
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert (proba >= 0).all() and (proba <= 1).all()


@pytest.mark.parametrize("ensemble", [False, True], ids=["one-svm", "svm-per-fold"])
def test_exported_classifier_reproduces_scikit_learn(
    training_data: TrainingData, test_data: TrainingData, ensemble: bool
) -> None:
    from nlu.classifier import IntentClassifier, block_source, fit_sklearn

    # Every kind of feature block, whether or not the configuration uses it.
    settings = NluSettings(
        calibration_folds=3,
        calibration_ensemble=ensemble,
        skeleton_ngram_max=4,
        gate_classifier="none",
    )
    # Every third line: equivalence needs no full training run, only every kind of line.
    sample = training_data.examples[::3]
    texts = [e.text for e in sample]
    features, model, gate = fit_sklearn(texts, [e.intent for e in sample], settings)
    assert gate is None  # gate_classifier "none": no gate is fitted
    exported = IntentClassifier.from_sklearn(features, model)
    assert [b.name for b in exported.blocks] == ["char", "word", "skeleton"]
    probe = [e.text for e in training_data.examples] + [e.text for e in test_data.examples]
    probe += ["", "x", "a  b\tc", "bimam faale?"]
    canonical = [canonical_text(t) for t in probe]
    for block, vectorizer in zip(exported.blocks, features.vectorizers, strict=True):
        analyzer = vectorizer.build_analyzer()
        for text in canonical:
            source = block_source(block.source, text)
            assert sorted(block.grams(source)) == sorted(analyzer(source)), (block.name, text)
    expected = model.predict_proba(features.transform(canonical))
    assert np.allclose(exported.predict_proba(probe), expected, atol=1e-5)
    assert exported.labels == [str(c) for c in model.classes_]


def test_logistic_regression_export_matches_too(training_data: TrainingData) -> None:
    from nlu.classifier import IntentClassifier, fit_sklearn

    settings = NluSettings(classifier="logreg", regularization_c=1, char_ngram_max=3)
    sample = training_data.examples[::5]  # equivalence needs no full training run
    texts = [e.text for e in sample]
    features, model, _ = fit_sklearn(texts, [e.intent for e in sample], settings)
    exported = IntentClassifier.from_sklearn(features, model)
    expected = model.predict_proba(features.transform([canonical_text(t) for t in texts]))
    assert np.allclose(exported.predict_proba(texts), expected, atol=1e-5)


def test_exported_gate_reproduces_scikit_learn_and_survives_persisting(
    training_data: TrainingData,
) -> None:
    from nlu.classifier import IntentClassifier, fit_sklearn

    settings = NluSettings(
        calibration_folds=2,
        char_ngram_max=3,
        gate_classifier="logreg",
        gate_regularization_c=4,
        gate_tamin_files=(),
    )
    sample = training_data.examples[::4]  # equivalence needs no full training run
    texts = [e.text for e in sample]
    features, model, gate = fit_sklearn(texts, [e.intent for e in sample], settings)
    # The gate learns "in-domain (1) or out of scope (0)" from the intents.
    assert list(gate.classes_) == [0, 1]
    exported = IntentClassifier.from_sklearn(features, model, gate)
    assert exported.has_gate
    # Lines the sample left out, and odd ones.
    probe = [e.text for e in training_data.examples[1::17]] + ["", "x", "bimam faale?"]
    x = features.transform([canonical_text(t) for t in probe])
    proba, in_domain = exported.predict(probe)
    assert np.allclose(proba, model.predict_proba(x), atol=1e-5)
    assert np.allclose(in_domain, gate.predict_proba(x)[:, 1], atol=1e-5)
    arrays, spec = exported.to_arrays()
    again = IntentClassifier.from_arrays(exported.labels, arrays, spec)
    assert np.array_equal(again.predict(probe)[1], in_domain)
    # Without a gate every line is in-domain as far as the gate goes.
    no_gate = IntentClassifier.from_sklearn(features, model)
    assert not no_gate.has_gate and (no_gate.predict(probe)[1] == 1.0).all()


def test_the_gate_rejects_whatever_the_intent_confidence() -> None:
    from nlu.model import decide

    # Columns: check_eligibility, out_of_scope, track_ticket. Confident intents, a doubtful gate.
    proba = np.asarray([[0.9, 0.05, 0.05], [0.05, 0.05, 0.9], [0.1, 0.85, 0.05]])
    gate = np.asarray([0.2, 0.8, 0.1])
    _, _, fallback, _ = decide(proba, 1, 0.5, 0.0, gate, 0.3)
    # The first falls back (gate 0.2 < 0.3), the second is kept, the third was out_of_scope
    # already (a fallback is only ever a rejected in-domain guess).
    assert fallback.tolist() == [True, False, False]
    _, _, without, _ = decide(proba, 1, 0.5, 0.0)
    assert without.tolist() == [False, False, False]


def test_the_out_of_scope_bias_lets_a_close_intent_win_and_no_further() -> None:
    from nlu.model import decide

    # Columns: check_eligibility, out_of_scope, track_ticket.
    proba = np.asarray(
        [
            [0.40, 0.45, 0.15],  # out_of_scope ahead by 0.05
            [0.20, 0.70, 0.10],  # out_of_scope ahead by 0.50
            [0.30, 0.36, 0.34],  # out_of_scope ahead of two intents, by 0.02 and 0.06
            [0.80, 0.15, 0.05],  # an intent ahead already
        ]
    )
    top, top_p, fallback, ambiguous = decide(proba, 1, 0.0, 0.0)
    assert top.tolist() == [1, 1, 1, 0]
    top, top_p, fallback, ambiguous = decide(proba, 1, 0.0, 0.0, out_of_scope_bias=0.1)
    # Within the bias the best intent is answered, with its own probability; beyond it, not.
    assert top.tolist() == [0, 1, 2, 0]
    assert top_p.tolist() == [0.40, 0.70, 0.34, 0.80]
    assert not fallback.any()
    # The threshold still applies to the intent's own probability, not to the discounted rival.
    _, _, fallback, _ = decide(proba, 1, 0.38, 0.0, out_of_scope_bias=0.1)
    assert fallback.tolist() == [False, False, True, False]
    # So does the gate.
    gate = np.asarray([0.01, 0.9, 0.9, 0.9])
    _, _, fallback, _ = decide(proba, 1, 0.0, 0.0, gate, 0.05, out_of_scope_bias=0.1)
    assert fallback.tolist() == [True, False, False, False]
    # The margin is measured against the discounted out_of_scope: 0.40 against 0.35 is a
    # close call at a margin of 0.1, 0.80 against 0.05 is not.
    _, _, _, ambiguous = decide(proba, 1, 0.0, 0.1, out_of_scope_bias=0.1)
    assert ambiguous.tolist() == [True, False, True, False]


def test_the_out_of_scope_bias_reaches_parse(nlu_model: NluModel) -> None:
    text = "چرا آسمون شب سیاهه؟"
    plain = nlu_model.parse(text)
    assert plain.intent == OUT_OF_SCOPE and not plain.fallback
    best_intent = next(s for s in plain.ranking if s.name != OUT_OF_SCOPE)
    lead = plain.ranking[0].confidence - best_intent.confidence
    biased = NluModel(
        nlu_model.classifier,
        nlu_model.extractor,
        nlu_model.settings.model_copy(
            update={
                "out_of_scope_bias": lead + 0.01,
                "out_of_scope_threshold": 0.0,
                "gate_threshold": 0.0,
            }
        ),
    ).parse(text)
    assert biased.intent == best_intent.name and not biased.fallback
    assert biased.confidence == best_intent.confidence
    # The ranking is the model's own, out_of_scope first: the bias moves the decision only.
    assert biased.ranking == plain.ranking


def test_skeleton_writes_finglish_and_persian_alike() -> None:
    from nlu.features import skeleton

    pairs = [
        ("bimam faale?", "بیمه‌ام فعاله؟"),
        ("estehghaghe darman", "استحقاق درمان"),
        ("sabeghe bimeh", "سابقه بیمه"),
        ("mikham shekayat konam", "میخوام شکایت کنم"),
        ("fishe hoghoogh", "فیش حقوقی"),
        ("khodahafez", "خداحافظ"),
    ]
    for finglish, persian in pairs:
        assert skeleton(canonical_text(finglish)) == skeleton(canonical_text(persian))
    assert skeleton(canonical_text("بیمه")) != skeleton(canonical_text("شکایت"))


def test_the_decision_rule_is_the_one_tune_replays(nlu_model: NluModel) -> None:
    from nlu.model import decide

    texts = [*SAMPLES[:-1], "بیمه", "sabeghe", "کمک", "اصلا", "چرا آسمون شب سیاهه؟"]
    proba, gate = nlu_model.classifier.predict(texts)
    assert nlu_model.classifier.has_gate  # the configured model has one
    labels = nlu_model.labels
    cases = (
        (0.0, 0.0, 0.0, 0.0),
        (0.5, 0.2, 0.5, 0.0),
        (0.9, 0.6, 0.9, 0.1),
        (0.2, 0.1, 0.0, 0.3),
    )
    for threshold, margin, gate_threshold, bias in cases:
        top, _, fallback, ambiguous = decide(
            proba,
            labels.index(OUT_OF_SCOPE),
            threshold,
            margin,
            gate,
            gate_threshold,
            out_of_scope_bias=bias,
        )
        model = NluModel(
            nlu_model.classifier,
            nlu_model.extractor,
            nlu_model.settings.model_copy(
                update={
                    "out_of_scope_threshold": threshold,
                    "ambiguity_margin": margin,
                    "gate_threshold": gate_threshold,
                    "out_of_scope_bias": bias,
                }
            ),
        )
        for i, result in enumerate(model.parse_batch(texts)):
            expected = OUT_OF_SCOPE if fallback[i] else labels[top[i]]
            assert (result.intent, result.fallback, result.ambiguous) == (
                expected,
                bool(fallback[i]),
                bool(ambiguous[i]),
            )


def test_low_confidence_becomes_out_of_scope_and_close_calls_are_ambiguous(
    nlu_model: NluModel,
) -> None:
    strict = NluModel(
        nlu_model.classifier,
        nlu_model.extractor,
        nlu_model.settings.model_copy(update={"out_of_scope_threshold": 0.999}),
    )
    result = strict.parse("بیمه")
    assert result.intent == OUT_OF_SCOPE and result.fallback
    assert result.ranking[0].name != OUT_OF_SCOPE  # the original guess stays for "did you mean"
    loose = NluModel(
        nlu_model.classifier,
        nlu_model.extractor,
        nlu_model.settings.model_copy(
            update={"out_of_scope_threshold": 0.0, "ambiguity_margin": 1.0}
        ),
    )
    close = loose.parse("بیمه")
    assert close.ambiguous and not close.fallback


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("سلام، تمدید دفترچه", "booklet_renewal"),
        ("با سلام و احترام، فیش حقوقی بازنشستگی", "pension_slip"),
        ("salam, bime ekhtiari", "voluntary_insurance"),
    ],
)
def test_a_greeting_before_a_request_keeps_the_request(
    nlu_model: NluModel, text: str, intent: str
) -> None:
    result = nlu_model.parse(text)
    assert result.intent == intent and not result.fallback


def test_empty_message_is_out_of_scope(nlu_model: NluModel) -> None:
    result = nlu_model.parse("   ")
    assert result.intent == OUT_OF_SCOPE and result.entities == ()


def test_batch_and_single_parse_agree(nlu_model: NluModel) -> None:
    batch = nlu_model.parse_batch(SAMPLES)
    assert [r.to_rasa_dict() for r in batch] == [
        nlu_model.parse(t).to_rasa_dict() for t in SAMPLES
    ]


def test_persist_load_round_trip_gives_identical_predictions(
    nlu_model: NluModel, tmp_path: Path
) -> None:
    nlu_model.persist(tmp_path / "copy")
    loaded = NluModel.load(tmp_path / "copy", nlu_model.settings)
    assert loaded.labels == nlu_model.labels
    assert np.array_equal(
        loaded.classifier.predict_proba(SAMPLES), nlu_model.classifier.predict_proba(SAMPLES)
    )
    assert [r.to_rasa_dict() for r in loaded.parse_batch(SAMPLES)] == [
        r.to_rasa_dict() for r in nlu_model.parse_batch(SAMPLES)
    ]
    files = {p.name for p in (tmp_path / "copy").iterdir()}
    assert files == {
        "weights.npz",
        "features.json",
        "labels.json",
        "entities.json",
        "metadata.json",
    }
    metadata = json.loads((tmp_path / "copy" / "metadata.json").read_text(encoding="utf-8"))
    assert {"scikit-learn", "numpy", "scipy", "python"} <= set(metadata["versions"])
    assert len(metadata["data_hash"]) == 64


def test_load_or_train_loads_a_fresh_model_without_training(
    nlu_model: NluModel, nlu_section: dict[str, Any], model_dir: Path
) -> None:
    again = load_or_train(nlu_section, model_dir=model_dir)
    assert again.metadata["trained_at"] == nlu_model.metadata["trained_at"]
    assert again.metadata["data_hash"] == nlu_model.metadata["data_hash"]


def test_model_from_other_versions_is_not_used(nlu_model: NluModel, tmp_path: Path) -> None:
    nlu_model.persist(tmp_path / "m")
    meta_path = tmp_path / "m" / "metadata.json"
    metadata = json.loads(meta_path.read_text(encoding="utf-8"))
    metadata["versions"]["scikit-learn"] = "0.0.1"
    meta_path.write_text(json.dumps(metadata), encoding="utf-8")
    with pytest.raises(ModelNotUsable):
        NluModel.load(tmp_path / "m", nlu_model.settings)
    with pytest.raises(ModelNotUsable):
        NluModel.load(tmp_path / "missing", nlu_model.settings)


def test_model_is_retrained_when_the_data_changes(
    tmp_path: Path, training_data: TrainingData
) -> None:
    data_dir = write_small_data(tmp_path / "data", training_data)
    # A small configuration: this test is about staleness, not accuracy.
    section = {"data": [str(data_dir)], "calibration_folds": 2, "char_ngram_max": 3}
    first = load_or_train(section, model_dir=tmp_path / "model")
    same = load_or_train(section, model_dir=tmp_path / "model")
    assert same.metadata["data_hash"] == first.metadata["data_hash"]
    assert same.metadata["trained_at"] == first.metadata["trained_at"]
    small = data_dir / "small.yml"
    small.write_text(
        small.read_text(encoding="utf-8").replace(
            "- intent: greet\n  examples: |\n", "- intent: greet\n  examples: |\n    - هی سلام\n"
        ),
        encoding="utf-8",
    )
    retrained = load_or_train(section, model_dir=tmp_path / "model")
    assert retrained.metadata["data_hash"] != first.metadata["data_hash"]
    assert retrained.metadata["examples"] == first.metadata["examples"] + 1


def test_held_out_metrics_meet_the_bar(nlu_model: NluModel, test_data: TrainingData) -> None:
    report = evaluate(nlu_model, test_data.examples)
    assert report.accuracy >= 0.95
    assert report.macro_f1 >= 0.93
    assert report.entity_precision >= 0.98
    assert report.entity_recall >= 0.98
    assert report.out_of_domain_examples >= 300
    # The bars (>= 97 % of out-of-scope lines rejected, <= 2 % of in-domain lines
    # wrongly so), held here as guards against regressions: at the thresholds cross-validation
    # chose on the training data of issue 15's third pass (config.yml), 358 of these 367
    # out-of-scope lines (97.5 %) are rejected and 4 of the 387 in-domain lines (1.0 %).
    # Thresholds are never moved to pass a test split.
    assert report.out_of_domain_recall >= 0.97
    assert report.in_domain_oos_rate <= 0.02


def test_model_without_its_data_is_used_as_it_is(nlu_model: NluModel, tmp_path: Path) -> None:
    nlu_model.persist(tmp_path / "model")
    section = {"data": [str(tmp_path / "no-data")]}
    loaded = load_or_train(section, model_dir=tmp_path / "model")
    assert loaded.parse("تمدید دفترچه").intent == nlu_model.parse("تمدید دفترچه").intent
    with pytest.raises(ModelNotUsable):
        load_or_train(section, model_dir=tmp_path / "nothing-here")


# Written for this test (not taken from any test set nor the training data): clear messages
# of the world outside Tamin, and ordinary requests the assistant serves.
CLEARLY_OUT_OF_SCOPE = [
    "چرا جغدها تو تاریکی می‌بینن؟",
    "طرز تهیه خورش کرفس",
    "ساعت چند اذان مغربه؟",
    "بهترین گوشی برای عکاسی کدومه؟",
    "یارانه دهک چهار چقدره؟",
    "کارت بانکیم رو کجا بلوکه کنم",
    "حقوق معلم‌ها این ماه کی واریز میشه؟",
    "how tall is mount everest",
]
CLEARLY_IN_DOMAIN = [
    ("میخوام بدونم دفترچه‌ام تا کی اعتبار داره", "check_eligibility"),
    ("سابقه بیمه‌ام رو می‌خوام ببینم چند سال شده", "insurance_record"),
    ("فیش حقوقی بازنشستگی مهر ماه", "pension_slip"),
    ("میخوام همسرم رو زیر دفترچه‌ام بیارم", "add_dependent"),
    ("کارفرمام سه ماهه بیمه‌ام رو رد نکرده، میخوام شکایت کنم", "file_complaint"),
    ("با یه اپراتور تامین اجتماعی وصلم کنید", "human_agent"),
]


@pytest.mark.parametrize("text", CLEARLY_OUT_OF_SCOPE)
def test_clear_out_of_scope_lines_are_rejected(nlu_model: NluModel, text: str) -> None:
    assert nlu_model.parse(text).intent == OUT_OF_SCOPE
    # The gate, on its own, finds them more likely outside Tamin's business than in it.
    assert nlu_model.classifier.predict([text])[1][0] < 0.5


@pytest.mark.parametrize(("text", "intent"), CLEARLY_IN_DOMAIN)
def test_clear_in_domain_lines_are_kept(nlu_model: NluModel, text: str, intent: str) -> None:
    result = nlu_model.parse(text)
    assert (result.intent, result.fallback) == (intent, False)
    assert nlu_model.classifier.predict([text])[1][0] > 0.9  # far above the gate's threshold


# Written for this test (not in any test set nor the training data): older users' messages,
# wrapped in titles and blessings (issue 15's elderly style). Before the elderly lines of the
# training data the model took the first for `thanks` (0.79), its blessing outweighing the
# question about joint pain.
ELDERLY = [
    ("سلام علیکم پسرم، برای درد مفاصل چه روغنی خوبه؟ خدا خیرت بده", OUT_OF_SCOPE),
    ("خدا خیرت بده مادر، مستمری بازنشسته‌های کشوری کی زیاد می‌شه؟", OUT_OF_SCOPE),
    ("پسرم، نماز میت چند تکبیر داره؟", OUT_OF_SCOPE),
    ("سلام علیکم دخترم، فیش حقوق بازنشستگی ماه پیشم رو می‌خواستم، خدا خیرت بده", "pension_slip"),
    ("ببخشید مزاحم شدم پسرم، دفترچه‌م اعتبارش تموم شده، چی کار کنم؟", "booklet_renewal"),
    ("مادر جان من سواد ندارم، یکی از کارمنداتون با من حرف بزنه", "human_agent"),
    ("عزیزم، حاج‌خانم رو چطور زیر بیمه‌ی خودم ببرم؟", "add_dependent"),
    ("دخترم، کیا زیر دفترچه‌ی من هستن؟", "family_list"),
]


# Written for this test (not in any test set nor the training data): issue 15's fourth pass,
# letter-like requests and follow-ups and wordy elderly ones, which blind5 found read as out of
# scope or as a neighbouring intent; and a letter-like complaint about another organisation,
# which the register alone must not carry into Tamin. The model before the pass (9 420 lines)
# took the booklet-at-the-laboratory question for `voluntary_insurance`.
FORMAL_AND_ELDERLY = [
    (
        "احتراماً، خواهشمند است شکایت اینجانب از کارفرما بابت پرداخت نکردن حق بیمه‌ی سه ماه"
        " اخیر ثبت شود.",
        "file_complaint",
    ),
    (
        "مستدعی است اعلام فرمایید درخواستی که ماه گذشته به شعبه داده‌ام به کجا رسیده است.",
        "track_ticket",
    ),
    ("خواهشمند است گواهی سوابق بیمه‌ای اینجانب جهت ارائه به بانک صادر گردد.", "insurance_record"),
    (
        "احتراماً، آیا بیمه‌ی درمان اینجانب برای بستری در بیمارستان هنوز معتبر است؟",
        "check_eligibility",
    ),
    (
        "احتراماً، خواهشمند است شکایت اینجانب از شرکت برق بابت قطعی‌های مکرر رسیدگی شود.",
        OUT_OF_SCOPE,
    ),
    ("مادر جان دخترم و دامادم هم زیر دفترچه‌ی من هستن؟ اسم همه رو بگو", "family_list"),
    ("پسرم فردا میرم آزمایشگاه، با دفترچه‌ی بیمه‌م حساب میکنن یا آزاد بدم؟", "check_eligibility"),
    ("عزیزم من پیرمردم، صاحبکارم این ماه بیمه‌مو داده یا نه؟", "last_contribution"),
]


@pytest.mark.parametrize(("text", "intent"), ELDERLY + FORMAL_AND_ELDERLY)
def test_courtesies_and_register_do_not_decide_the_intent(
    nlu_model: NluModel, text: str, intent: str
) -> None:
    # Out of scope as the model's own best reading, not by a threshold; an intent surely.
    result = nlu_model.parse(text)
    assert (result.intent, result.fallback) == (intent, False)


@pytest.mark.parametrize(
    ("text", "tail"),
    [
        # A story, then the request: the last sentence.
        (
            "سلام وقت بخیر. سه ساله تو یه کارگاه کار می‌کنم و همه چی خوب بوده. "
            "فیش حقوقی ماه پیشم رو می‌خوام",
            "فیش حقوقی ماه پیشم رو می‌خوام",
        ),
        # A vocative opener and a short last clause: clauses from the end until four words.
        (
            "سلام علیکم پسرم، دفترچه‌ی من دیگه جا نداره برای نسخه، چیکار کنم؟",
            "دفترچه‌ی من دیگه جا نداره برای نسخه چیکار کنم",
        ),
        (
            "salam, ye soal dashtam. mishe lotfan begid chand sal sabeghe daram? merci",
            "mishe lotfan begid chand sal sabeghe daram merci",
        ),
        # Too short, no clause boundary, or a boundary only inside a number: no tail.
        ("سلام، فیش حقوقی می‌خوام", None),
        ("یه جمله‌ی بلند بدون هیچ نقطه‌ای که ده کلمه بیشتر داره و آخرش می‌پرسه", None),
        ("مبلغ 1,200,000 تومان از حقوق این ماهم کم شده چرا اینطوری شده آخه", None),
    ],
)
def test_the_tail_of_a_long_message_is_its_last_clauses(text: str, tail: str | None) -> None:
    assert tail_text(text, min_words=4, min_message_words=10) == tail


def test_a_long_message_blends_its_tail_scores_and_a_short_one_is_left_alone(
    nlu_model: NluModel,
) -> None:
    weighted = NluModel(
        nlu_model.classifier,
        nlu_model.extractor,
        nlu_model.settings.model_copy(update={"tail_weight": 0.4}),
    )
    story = (
        "ببخشید مزاحم میشم، کارفرمام سه ماهه حقوق نداده و خیلی تحت فشارم. "
        "می‌خوام ببینم بیمه‌ی درمانم هنوز اعتبار داره"
    )
    short = "فیش حقوقی این ماه"
    proba, gate = weighted.scores([story, short])
    whole, whole_gate = nlu_model.classifier.predict([story, short])
    tail, tail_gate = nlu_model.classifier.predict(["می‌خوام ببینم بیمه‌ی درمانم هنوز اعتبار داره"])
    assert np.allclose(proba[0], 0.6 * whole[0] + 0.4 * tail[0])
    assert gate[0] == pytest.approx(0.6 * whole_gate[0] + 0.4 * tail_gate[0])
    assert np.array_equal(proba[1], whole[1]) and gate[1] == whole_gate[1]
    off = NluModel(
        nlu_model.classifier,
        nlu_model.extractor,
        nlu_model.settings.model_copy(update={"tail_weight": 0.0}),
    )
    assert np.array_equal(off.scores([story])[0], whole[:1])

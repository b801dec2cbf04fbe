"""digest.claims: policies as data, the phrase rules, extraction, output and exit codes.

Fixtures are hand-made (tests/fixtures/handmade/CLAIMS.md); their labels live beside them
in YAML, so what each sentence should give is stated in the data, not in this file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pytest
import yaml

from digest.claims import (
    EvidenceIndex,
    check_sentences,
    check_text,
    extract_sentences,
    format_json,
    format_text,
    load_policy,
    policy_panel,
    run_check_claims,
)
from digest.claims.rules import RULE_IDS
from digest.config import load_settings
from digest.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
HANDMADE = ROOT / "tests" / "fixtures" / "handmade"
TRAINING = ("handmade_blog_train.txt", "handmade_blog_train.md", "handmade_blog_train.html")
HELD_OUT = "handmade_blog_heldout.md"
BASE = "https://digest.example.org/"

Pairs = set[tuple[int, str]]


@pytest.fixture(scope="module")
def evidence() -> EvidenceIndex:
    settings = load_settings(ROOT / "sources.yaml", env={})
    return EvidenceIndex.from_topics(settings.topics, BASE)


def _expected(labels: Mapping[int, str | list[str]]) -> Pairs:
    pairs: Pairs = set()
    for line, value in labels.items():
        for rule in [value] if isinstance(value, str) else value:
            assert rule == "ok" or rule in RULE_IDS, f"label {rule!r} on line {line}"
            if rule != "ok":
                pairs.add((int(line), rule))
    return pairs


def _run(name: str, policy: str, evidence: EvidenceIndex) -> Pairs:
    sentences = extract_sentences((HANDMADE / name).read_bytes(), name)
    return {(f.line, f.rule) for f in check_sentences(sentences, load_policy(policy), evidence)}


def precision_recall(expected: Pairs, got: Pairs) -> tuple[float, float]:
    """Over (line, rule) pairs: a flag on a line labelled ok (or unlabelled) is a false
    positive; a labelled rule not flagged on its line is a false negative."""
    hits = len(expected & got)
    return (hits / len(got) if got else 1.0), (hits / len(expected) if expected else 1.0)


def _training() -> dict[str, dict[str, object]]:
    data = yaml.safe_load((HANDMADE / "handmade_blog_labels.yaml").read_text("utf-8"))
    assert set(data) == set(TRAINING)
    return data  # type: ignore[no-any-return]


@pytest.mark.parametrize("name", TRAINING)
def test_training_fixture_labels(name: str, evidence: EvidenceIndex) -> None:
    spec = _training()[name]
    expected = _expected(spec["labels"])  # type: ignore[arg-type]
    got = _run(name, str(spec["policy"]), evidence)
    assert sorted(expected - got) == [], "overclaims not flagged with their rule"
    assert sorted(got - expected) == [], "measured or ignored sentences flagged"


def test_training_precision_recall(evidence: EvidenceIndex) -> None:
    expected: Pairs = set()
    got: Pairs = set()
    for i, (name, spec) in enumerate(_training().items()):
        expected |= {(i * 10_000 + ln, r) for ln, r in _expected(spec["labels"])}  # type: ignore[arg-type]
        got |= {(i * 10_000 + ln, r) for ln, r in _run(name, str(spec["policy"]), evidence)}
    precision, recall = precision_recall(expected, got)
    print(f"training: precision {precision:.3f}, recall {recall:.3f}, {len(expected)} claims")
    assert (precision, recall) == (1.0, 1.0)


def _held_out(evidence: EvidenceIndex) -> tuple[float, float]:
    spec = yaml.safe_load((HANDMADE / "handmade_blog_heldout_labels.yaml").read_text("utf-8"))
    expected = _expected(spec["labels"])
    precision, recall = precision_recall(expected, _run(HELD_OUT, spec["policy"], evidence))
    print(f"held-out: precision {precision:.3f}, recall {recall:.3f}, {len(expected)} claims")
    return precision, recall


def test_held_out_precision(evidence: EvidenceIndex) -> None:
    precision, _ = _held_out(evidence)
    assert precision >= 0.8


@pytest.mark.xfail(
    strict=True,
    reason="held-out recall measured 0.667 (12/18) with rules never tuned against it; "
    "the misses are synonyms the phrase lists lack (see CLAIMS_README.md)",
)
def test_held_out_recall(evidence: EvidenceIndex) -> None:
    _, recall = _held_out(evidence)
    assert recall >= 0.8


def test_precision_recall_function() -> None:
    assert precision_recall({(1, "a"), (2, "b")}, {(1, "a"), (3, "c")}) == (0.5, 0.5)
    assert precision_recall(set(), set()) == (1.0, 1.0)


# --- the checker on plain strings: hedges, negation, conditions ---


@pytest.mark.parametrize(
    "sentence",
    [
        "Acupuncture may help some people.",
        "The evidence is mixed.",
        "In trials, acupuncture reduced pain slightly more than sham.",
        "Some studies suggest it may help chronic low back pain.",
        "Acupuncture is not a cure.",
        "Acupuncture may help with anxiety.",  # a hedge defuses an efficacy flag (brief)
    ],
)
def test_measured_sentences_pass(sentence: str, evidence: EvidenceIndex) -> None:
    assert check_text(sentence, load_policy("uk-asa-cap"), evidence) == []


@pytest.mark.parametrize(
    ("sentence", "rule"),
    [
        ("Acupuncture may have no side effects at all.", "absolute-safety"),
        ("Some say acupuncture might cure migraine.", "guarantee-cure"),
        ("Acupuncture not only eases pain, it cures it.", "guarantee-cure"),
    ],
)
def test_hedges_never_defuse_safety_or_cure(
    sentence: str, rule: str, evidence: EvidenceIndex
) -> None:
    assert [f.rule for f in check_text(sentence, load_policy("uk-asa-cap"), evidence)] == [rule]


def test_accepted_condition_efficacy_is_not_flagged(evidence: EvidenceIndex) -> None:
    uk = load_policy("uk-asa-cap")
    assert check_text("Acupuncture relieves neck pain.", uk, evidence) == []
    assert [f.rule for f in check_text("Acupuncture relieves tinnitus.", uk, evidence)] == [
        "efficacy-not-accepted"
    ]


def test_au_policy_flags_condition_claims_as_unchecked(evidence: EvidenceIndex) -> None:
    (flag,) = check_text("Acupuncture relieves neck pain.", load_policy("au-ahpra"), evidence)
    assert flag.rule == "efficacy-not-accepted"
    assert "records no AHPRA" in flag.why
    assert flag.evidence == [f"{BASE}conditions/neck-pain/"]


def test_policy_none_runs_general_rules_only(evidence: EvidenceIndex) -> None:
    none = load_policy("none")
    assert check_text("Acupuncture treats infertility.", none, evidence) == []
    assert [f.rule for f in check_text("It has no side effects.", none, evidence)] == [
        "absolute-safety"
    ]


def test_evidence_claim_points_to_the_condition_page(evidence: EvidenceIndex) -> None:
    text = "Intro line.\nStudies show acupuncture relieves knee osteoarthritis pain."
    (flag,) = check_text(text, load_policy("uk-asa-cap"), evidence)
    assert (flag.line, flag.rule) == (2, "evidence-claim")
    assert flag.evidence == [f"{BASE}conditions/knee-osteoarthritis/"]
    assert f"<{BASE}conditions/knee-osteoarthritis/>" in flag.suggestion
    assert "asa.org.uk" in flag.why


# --- extraction ---


def test_html_ignores_script_nav_and_chrome() -> None:
    name = "handmade_blog_train.html"
    sentences = extract_sentences((HANDMADE / name).read_bytes(), "text/html; charset=utf-8")
    text = " ".join(s.text for s in sentences)
    for hidden in ("cures cancer", "Detox acupuncture", "Better than drugs", "Special offer",
                   "Get pain-free", "boosts the immune", "cures tinnitus", "relieves anxiety",
                   "Guaranteed results"):  # fmt: skip
        assert hidden not in text
    assert ("It is the first line of defense against pain, and it flushes out toxins.", 21) in [
        (s.text, s.line) for s in sentences
    ]


def test_markdown_keeps_lines_and_strips_markup() -> None:
    sentences = extract_sentences((HANDMADE / "handmade_blog_train.md").read_text(), "x.md")
    by_line = {s.line: s.text for s in sentences}
    assert by_line[11] == "Acupuncture is completely safe and has no side effects."
    assert by_line[15] == "Acupuncture boosts your immune system too."
    assert not any("cures everything" in t or "all disease" in t for t in by_line.values())


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"  \n\t\n", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (b"caf\xe9 acupuncture cures", "not valid UTF-8"),
        (b"<html><body><nav>Home</nav><script>x()</script></body></html>", "no readable text"),
    ],
)
def test_bad_input_is_a_config_error(content: bytes, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        extract_sentences(content, "-")
    assert "\n" not in str(info.value)


def test_declared_charset_is_used() -> None:
    (s,) = extract_sentences(
        "Café: acupuncture cures.".encode("latin-1"), "text/plain; charset=latin-1"
    )
    assert s.text == "Café: acupuncture cures."


# --- output and exit codes ---


def test_format_json_keys_and_lines(evidence: EvidenceIndex) -> None:
    flags = check_text("Completely safe.\nIt cures migraine.", load_policy("uk-asa-cap"), evidence)
    rows = [json.loads(line) for line in format_json(flags).splitlines()]
    assert [list(r) for r in rows] == [
        ["text", "line", "rule", "why", "suggestion", "evidence"]
    ] * 2
    assert [(r["line"], r["rule"]) for r in rows] == [(1, "absolute-safety"), (2, "guarantee-cure")]
    assert format_json([]) == ""


def test_format_text_layout(evidence: EvidenceIndex) -> None:
    flags = check_text(
        "Hello.\nResearch proves it works for neck pain.", load_policy("uk-asa-cap"), evidence
    )
    lines = format_text(flags).splitlines()
    assert lines[0] == "line 2: [evidence-claim] Research proves it works for neck pain."
    assert [ln.split(":")[0] for ln in lines[1:4]] == ["    why", "    suggestion", "    evidence"]
    assert format_text([]) == "No claims flagged.\n"


def test_run_check_claims_exit_codes(evidence: EvidenceIndex) -> None:
    out, code = run_check_claims(
        b"Acupuncture may help some people.", "-", "text", "uk-asa-cap", evidence
    )
    assert code == 0 and "No claims flagged" in out and "not legal advice" in out
    out, code = run_check_claims(
        b"It cures everything.", "post.txt", "json", "uk-asa-cap", evidence
    )
    assert code == 1 and json.loads(out)["rule"] == "guarantee-cure"
    with pytest.raises(ConfigError):
        run_check_claims(b"", "-", "text", "uk-asa-cap", evidence)
    with pytest.raises(ConfigError, match="unknown claims policy"):
        run_check_claims(b"Fine.", "-", "text", "us-ftc", evidence)


# --- policies ---


def test_packaged_policies_cover_the_topic_model() -> None:
    topics = load_settings(ROOT / "sources.yaml", env={}).topics
    for name in ("uk-asa-cap", "au-ahpra"):
        policy = load_policy(name)
        assert policy.disclaimer == "This is guidance, not legal advice."
        assert [c.slug for c in topics.conditions if policy.condition(c.slug) is None] == []
        # no source claims a read date the anchors do not give
        assert all(not s.date_given and "not given" in s.date_read for s in policy.sources)
        assert {r.rule for r in policy.rules} == RULE_IDS


def test_policy_entry_without_a_source_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: uk-asa-cap\ntitle: Bad\nsources:\n"
        "  - {id: s1, title: T, url: 'https://example.org', date_read: 'not given',"
        " date_given: false}\n"
        "conditions:\n  - {id: fertility, label: Fertility, status: not_accepted}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"conditions\[0\] \(fertility\) cites no source"):
        load_policy("uk-asa-cap", path=bad)


def test_policy_source_without_url_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: x\ntitle: X\nsources:\n  - {id: s1, title: T, date_read: d, date_given: false}\n"
    )
    with pytest.raises(ConfigError, match=r"sources\.0\.url"):
        load_policy("x", path=bad)


def test_panel_for_accepted_condition() -> None:
    panel = policy_panel(load_policy("uk-asa-cap"), "low-back-pain")
    assert panel.accepted is True and panel.status == "accepted"
    assert "short-term" in panel.scope and panel.say and panel.avoid
    assert [c.url for c in panel.citations] == ["https://atcm.co.uk"]
    assert panel.disclaimer == "This is guidance, not legal advice."


def test_panel_for_not_accepted_condition() -> None:
    panel = policy_panel(load_policy("uk-asa-cap"), "fertility")
    assert panel.accepted is False and panel.status == "not_accepted"
    assert panel.say == [] and panel.avoid
    au = policy_panel(load_policy("au-ahpra"), "neck-pain")
    assert au.accepted is None and au.status == "no_ruling"
    assert any("Testimonials" in g for g in au.guidance)
    assert "Check your advertising: Chinese medicine examples" in [c.title for c in au.citations]
    with pytest.raises(ConfigError, match="no entry for condition"):
        policy_panel(load_policy("uk-asa-cap"), "warts")
    assert policy_panel(load_policy("none"), "neck-pain").status == "no_policy"

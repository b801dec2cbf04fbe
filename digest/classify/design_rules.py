"""The design rule tables: publication types, MeSH headings and text cues per design.

Data only (and `rule_patterns`, their fingerprint); the order in which they are asked is
`digest.classify.design`. A change of any pattern or table here changes RULES_VERSION,
so stored studies are reclassified.
"""

from __future__ import annotations

import re

DESIGNS = (
    "systematic-review",
    "rct",
    "non-randomized-trial",
    "observational",
    "qualitative",
    "guideline",
    "protocol",
    "trial-registration",
    "case-report",
    "review",
    "animal-or-lab",
    "patient-information",
    "editorial",
    "notice",
    "other",
)

# Publication types (lower-cased) -> design, most authoritative first.
TAG_DESIGNS: tuple[tuple[str, frozenset[str]], ...] = (
    (
        "notice",
        frozenset(
            {
                "published erratum", "retraction of publication", "expression of concern",
                "correction", "retraction", "retraction notice", "erratum",
            }
        ),
    ),
    (
        "systematic-review",
        frozenset({"systematic review", "meta-analysis", "network meta-analysis",
                   "systematic-review"}),
    ),
    ("guideline", frozenset({"practice guideline", "guideline", "consensus development conference",
                             "consensus development conference, nih"})),
    ("protocol", frozenset({"clinical trial protocol", "study protocol"})),
    ("animal-or-lab", frozenset({"randomized controlled trial, veterinary",
                                 "clinical trial, veterinary", "observational study, veterinary"})),
    ("rct", frozenset({"randomized controlled trial"})),
    (
        "non-randomized-trial",
        frozenset(
            {
                "clinical trial", "controlled clinical trial", "clinical trial, phase i",
                "clinical trial, phase ii", "clinical trial, phase iii", "clinical trial, phase iv",
                "pragmatic clinical trial", "equivalence trial", "adaptive clinical trial",
            }
        ),
    ),
    ("observational", frozenset({"observational study", "twin study"})),
    ("case-report", frozenset({"case reports", "case-report", "case report"})),
    (
        "editorial",
        frozenset(
            {
                "editorial", "comment", "letter", "news", "newspaper article", "interview",
                "personal narrative", "biography", "portrait", "lecture", "address",
                "article-commentary", "introductory journal article", "video-audio media",
            }
        ),
    ),
    ("review", frozenset({"review", "scoping review", "review-article"})),
)  # fmt: skip

ANIMAL_MESH = frozenset({"animals"})
HUMAN_MESH = frozenset({"humans"})
LAB_MESH = frozenset(
    {"in vitro techniques", "cells, cultured", "cell line", "cell line, tumor",
     "tumor cells, cultured", "hep g2 cells", "hek293 cells", "hela cells"}
)  # fmt: skip
OBSERVATIONAL_MESH = frozenset(
    {"cohort studies", "cross-sectional studies", "case-control studies", "retrospective studies",
     "prospective studies", "longitudinal studies", "health surveys", "registries"}
)  # fmt: skip
QUALITATIVE_MESH = frozenset({"qualitative research", "focus groups", "grounded theory"})


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


# --------------------------------------------------------------------------- text cues

_RANDOM = r"randomi[sz]"
NOTICE_TITLE = _rx(
    r"^\s*(erratum|corrigendum|correction|retraction(\s+(note|notice))?|notice of retraction|"
    r"expression of concern|withdrawal|department of error|addendum)\b"
)
EDITORIAL_TITLE = _rx(
    r"^\s*(editorial|commentary|comment|letter|reply|in reply|response|re:|author'?s'? reply|"
    r"news|invited commentary|viewpoint|perspective:)\b|\bletter to the editor\b"
)
PROTOCOL_TITLE = _rx(
    r"\b(study|trial|research|review|evaluation) protocol\b|"
    r"\bprotocol (for|of) (a|an)\s+(\S+\s+){0,6}?(trial|study|review|meta-analysis|rct|"
    r"evaluation|investigation)\b|:\s*(a|the)?\s*protocol\b|\brationale and design\b|"
    r"\bdesign and rationale\b|\bstatistical analysis plan\b"
)
PROTOCOL_FUTURE = _rx(
    rf"\bwill be ({_RANDOM}ed|randomly|recruited|enrol?led|allocated|assigned|included|"
    r"searched|screened)\b|\bwe will (recruit|enrol|enroll|randomi[sz]e|search|include|"
    r"conduct|perform|screen)\b|\b(patients|participants|subjects) will (be|receive)\b"
)
PROTOCOL_MENTION = _rx(r"\b(this|the present|our) (study |trial |review )?protocol\b")
SR_TITLE = _rx(
    r"\bsystematic(\s+literature)?\s+review\b|\bmeta-?analys[ie]s\b|\bmeta-?regression\b|"
    r"\bumbrella review\b|\boverview of (systematic )?reviews\b|\bevidence map\b|"
    r"\bsystematic overview\b|\bnetwork meta\b"
)
SR_ABSTRACT = _rx(
    r"\b(we|this|authors)\b[^.;]{0,50}\b(conducted|performed|undertook|carried out|did|"
    r"present|report)\b[^.;]{0,40}\b(systematic (literature )?review|meta-?analys[ie]s)\b|"
    r"\b(this|the present|our) (systematic review|meta-?analysis)\b|"
    r"\b(searched|search of|searches of|searching)\b[^.;]{0,120}\b(pubmed|medline|embase|"
    r"cochrane|web of science|cnki|scopus|cinahl|wanfang|databases?)\b|"
    r"\b(pubmed|medline|embase|cochrane library|web of science|cnki|scopus)\b[^.;]{0,120}"
    r"\b(were|was) (systematically )?searched\b|\bPRISMA\b|"
    r"\b(\d+|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)\s+(\w+\s+){0,2}"
    r"(studies|trials|RCTs|articles)\s+(\w+\s+){0,4}(were|was) (included|eligible|identified)\b|"
    r"\bincluded (\d+|two|three|four|five|six|seven|eight|nine|ten)\s+(\w+\s+){0,2}"
    r"(studies|trials|RCTs|articles)\b|\bpooled (estimates?|effects?|odds|risk|mean|"
    r"standardi[sz]ed|SMD|RR|OR|hazard|prevalence)\b"
)
# "Guideline" means a clinical practice guideline (or consensus statement) issued by a
# guideline body. A title or abstract that only *mentions* guidelines (compares, evaluates,
# follows or audits them, or asks for research) is not one; patient fact sheets (NCCIH's
# "What You Need To Know") are `patient-information`, which pages carry from sources.yaml.
_BODY = (
    r"(society|association|college|academy|working group|task force|panel|committee|"
    r"network|federation|consortium|council|institute|organi[sz]ation)"
)
GUIDELINE_TITLE = _rx(
    r"\b(clinical practice guidelines?|practice guidelines?|guidelines? (for|on)|"
    r"consensus (statements?|guidelines?|recommendations?)|expert consensus|"
    r"position (statement|paper)|practice parameters?|clinical practice recommendations?|"
    r"recommendations (for|from|of the|on))\b|:\s*(a|an)?\s*guideline\b|"
    r"\bguidelines?\W{0,2}\s+(insights|version \d|update \d{4})|"
    rf"\b{_BODY}'?s? (recommendations|guidelines?|consensus statement)\b"
)
GUIDELINE_TITLE_NOT = _rx(
    r"\b(adherence|compliance|concordan\w*|adherent|appraisal|implementation|uptake|"
    r"awareness|knowledge|use of|quality of|comparison|comparing|compared|evaluation of|"
    r"evaluating|following|review of|analysis of|practice patterns|survey|"
    r"(future|further) research|research (agenda|priorities))\b"
)
GUIDELINE_ABSTRACT = _rx(
    r"\b(this|the present|our) (clinical practice |updated )?guidelines?\b|"
    r"\b(this|these|the present|our) (\w+ ){0,2}guidelines? (was|were|has been|have been|is|are)"
    r" (developed|updated|written|prepared|produced|issued|intended)\b|"
    r"\bguideline (panel|development group|committee)\b|\bconsensus (was|were) reached\b|"
    r"\b(recommendations|statements) were (developed|formulated|made|issued|drafted|agreed)\b"
    r"(?![^.;]{0,60}\b(future|further) (research|studies|trials)\b)"
)
CASE_TITLE = _rx(
    r"\bcase reports?\b|\ba case of\b|\bcase series\b|:\s*(a )?case\b|\breport of (a|an|one|two|"
    r"three|\d+) (cases?|patients?)\b|\ba patient with\b"
)
CASE_ABSTRACT = _rx(
    r"\bwe (report|present|describe) (a|an|the|two|three|\d+)\b[^.;]{0,80}\b(case|cases|patient|"
    r"man|woman|boy|girl|female|male)\b|\b(a|an) \d{1,3}-year-old\b|\bcase (report|presentation)\b"
)
REVIEW_TITLE = _rx(
    r"\b(narrative |literature |mini-?|critical |brief |comprehensive |scoping |rapid )?review\b|"
    r"\boverview\b|\bupdate on\b|\bcurrent (concepts|status|perspectives?|evidence|"
    r"understanding|knowledge|trends)\b|\bstate of the art\b|\brecent advances\b|"
    r"\badvances in\b|\bperspectives? on\b|\bprimer\b|\bin perspective\b|\bwhat (we|do we) know\b"
)
REVIEW_ABSTRACT = _rx(
    r"\b(this|the present|our|in this|present) (narrative |mini-?|brief |literature |"
    r"comprehensive |critical |short |scoping |historical )?review\b|"
    r"\bwe (review|summari[sz]e|provide an overview|give an overview|overview)\b|"
    r"\b(is|are) (reviewed|summari[sz]ed)\b|\breview(s|ed)? (of )?the (literature|evidence|"
    r"current|recent|available|published)\b|\bliterature review\b|\bnarrative review\b|"
    r"\bscoping review\b|\bthis (article|paper|chapter|report) (reviews|summari[sz]es|discusses|"
    r"provides an overview|examines the evidence)\b|\bbased on (a |the )?(selective |pertinent )?"
    r"(review of|publications|literature|the literature)\b"
)
# A study of the literature's publications (counts, citations, co-authorship, keyword maps):
# it describes a field, it pools no effects, so it is a `review`, not a systematic review.
BIBLIOMETRIC = _rx(
    r"\b(bibliometrics?|scientometrics?|citation analys[ie]s|co-?citation analys[ie]s)\b|"
    r"\b(citespace|vosviewer|bibliometrix)\b"
)
# "chart review" and friends are observational methods, not reviews
NOT_REVIEW = _rx(
    r"\b(chart|record|records|retrospective|peer|case|file|notes|medical record|utili[sz]ation|"
    r"drug|clinical|systematic) review"
)
ANIMAL = _rx(
    r"\b(rats?|mice|mouse|murine|rodents?|rabbits?|dogs|canine|cats|feline|piglets?|porcine|"
    r"swine|sheep|ovine|bovine|cattle|horses|equine|monkeys?|macaques?|non-?human primates?|"
    r"marmosets?|zebrafish|drosophila|hamsters?|guinea pigs?|sprague[- ]dawley|wistar|"
    r"c57bl|knockout|transgenic|in vivo|animals|ferrets?|dams|pups|litters?|fetuses|foetuses)\b"
)
LAB = _rx(
    r"\bin vitro\b(?!\s+fertili[sz]ation)|\bcell lines?\b|\bcultured\b|\bcell cultures?\b|"
    r"\bprimary cultures?\b|\bhepatocytes\b|\bxenografts?\b|\bin silico\b|\bmolecular docking\b|"
    r"\bnetwork pharmacology\b|\borganoids?\b|\bex vivo\b|\bcells were\b|\bmicroarray\b|"
    r"\bassays?\b|\bgene expression\b|\bmRNA\b|\bwestern blot|\bmitochondria\b|\bmicrosomes\b|"
    r"\bhomogenates?\b"
)
HUMAN = _rx(
    r"\b(patients|participants|volunteers|women|men|children|adolescents|adults|individuals|"
    r"people|persons|respondents|veterans|infants|outpatients|inpatients|pregnant|"
    r"healthy subjects|human subjects|clinicians|nurses|physicians|practitioners|survivors)\b"
)
TRIAL_RANDOM = _rx(
    rf"\b{_RANDOM}ed\b|\brandomly (assigned|allocated|divided|distributed|split|assigning)\b|"
    rf"\b{_RANDOM}ation\b|\b{_RANDOM}ing\b|\bRCT\b|\b(sham|placebo)[- ]controlled\b|"
    r"\b(allocated|assigned|divided)\b[^.;]{0,30}\bat random\b"
)
TITLE_RANDOM = _rx(
    rf"\b{_RANDOM}ed\b(?!\s+(controlled\s+|clinical\s+)?(trials|studies|evidence)\b)|"
    r"\bRCT\b|\b(sham|placebo)[- ]controlled\b"
)
NOT_RANDOM = _rx(
    rf"\bmendelian {_RANDOM}ation\b|\b(non|not|quasi|pseudo)[- ]?{_RANDOM}\w*|"
    rf"\bwithout {_RANDOM}ation\b|\brandom(ly)? (selected|sampled|chosen|sample)\b"
)
NRT = _rx(
    rf"\b(non|quasi)[- ]?{_RANDOM}ed\b|\bnot {_RANDOM}ed\b|\bquasi-?experimental\b|"
    r"\bsingle[- ]arm\b|\buncontrolled (trial|study|pilot)\b|\bopen[- ]label (pilot )?"
    r"(trial|study)\b|\bbefore[- ]and[- ]after\b|\bpre-? ?(and|/)? ?post-?(test|intervention|"
    r"treatment)?\b|\bphase (i|ii|1|2|i/ii|1/2) (clinical )?(trial|study)\b|"
    r"\b(clinical|controlled|intervention|interventional|pilot|feasibility|prospective "
    r"interventional) (trial|study)\b|\bself-controlled\b|\bcrossover (trial|study)\b"
)
QUALITATIVE = _rx(
    r"\bqualitative (study|research|interview|analysis|design|approach|descriptive|data|"
    r"methods?|inquiry|exploration|evaluation|content)\b|\bsemi-?structured interviews?\b|"
    r"\bfocus groups?\b|\bthematic(ally)? (analysis|analy[sz]ed)\b|\bgrounded theory\b|"
    r"\bphenomenolog\w*|\bin-depth interviews?\b|\bframework analysis\b"
)
OBSERVATIONAL = _rx(
    r"\b(prospective|retrospective)(ly)?\b|\bcohort\b|\bcross-?sectional\b|\bcase-?control\b|"
    r"\bobservational\b|\bregistry\b|\bregister-based\b|\bpopulation-based\b|\bnationwide\b|"
    r"\b(a|an|online|national|web-based) survey\b|\bsurvey (of|among|study)\b|\bsurveyed\b|"
    r"\bclaims (data|database)\b|\b(electronic )?(health|medical) records?\b|\bchart review\b|"
    r"\blongitudinal\b|\bpropensity\b|\bmendelian randomi[sz]ation\b|\bdatabase\b|"
    r"\bcase series\b|\bsecondary data\b"
)
# This study calling itself observational ("we conducted cross-sectional studies"): beats a
# mere mention of a trial it drew data from ("... in a registered clinical trial").
OBSERVATIONAL_SELF = _rx(
    r"\bwe (conducted|performed|carried out|undertook|did|designed)\b[^.;]{0,40}"
    r"\b(cohort|cross-?sectional|case-?control|observational|population-based|"
    r"registry-based|longitudinal) (study|studies|analysis|analyses|design)\b"
)
# A sentence that talks about other people's studies or future needs, not this one.
ABOUT_OTHERS = _rx(
    r"\b(needed|warranted|required|necessary|should|future|further|recommend\w*|lack(ing|s)?|"
    r"few|limited number|previous(ly)?|prior|earlier|existing|have (shown|demonstrated|"
    r"suggested|reported|found)|has been|reported that|evidence from|systematic reviews?|"
    r"meta-?analys[ie]s|would|remains? unclear)\b"
)
OWN_STUDY = _rx(
    r"\b(this|our|the present|the current)\s+([\w-]+\s+){0,5}(randomi[sz]ed|trial|study|rct)\b|"
    r"\bwe\s+([\w-]+\s+){0,2}(randomi[sz]ed|randomly|conducted|performed|did|undertook|"
    r"carried out|enrolled|recruited)\b|\b(were|was)\s+(then\s+)?(randomi[sz]ed|randomly)\b"
)
SECONDARY = _rx(
    r"\b(secondary|post[- ]hoc|exploratory|ancillary|subgroup|pre-?specified|economic|"
    r"cost-effectiveness) (analysis|analyses|study|evaluation)\b|\bfollow-up of a\b"
)
OWN_EXPERIMENT = _rx(
    r"\b(was|were)\b|\bwe\s+(\w+\s+)?(examined|investigated|studied|measured|treated|exposed|"
    r"assessed|performed|conducted|enrolled|recruited|analy[sz]ed|used|tested|compared|found|"
    r"observed|identified|evaluated|randomi[sz]ed|report|present|describe|show|demonstrate|"
    r"reveal|find|identify|propose|develop|developed|build|built|train|trained|validate|"
    r"validated|derive|derived|construct|constructed)\b|\bhere,? we\b|"
    r"\bour (results|data|findings|study)\b|"
    r"\b(results|data|findings) (show|suggest|indicate|demonstrate|reveal|establish)\b|"
    r"\b(this|the present|the current) (study|work|trial|experiment)\b"
)
# The impersonal passive of a review reporting others' work ("it was demonstrated that"):
# blanked before OWN_EXPERIMENT is asked, so that "was" is not this paper's experiment.
OTHERS_REPORTED = _rx(
    r"\b(it|this|that) (was|were|has been|had been) (recently |previously |also |first )?"
    r"(demonstrated|shown|reported|found|suggested|proposed|observed|hypothesi[sz]ed|"
    r"established|argued|noted)\b"
)
MIN_OVERVIEW_SENTENCES = 4
OWN_SECTIONS = frozenset({"objective", "methods", "results", "conclusions", "unlabelled",
                           "discussion", "other"})  # fmt: skip


def rule_patterns() -> list[str]:
    """Every pattern the design rules use, for the rules fingerprint."""
    patterns = [v.pattern for v in list(globals().values()) if isinstance(v, re.Pattern)]
    tables = [f"{d}:{sorted(names)}" for d, names in TAG_DESIGNS]
    mesh = [sorted(s) for s in (LAB_MESH, OBSERVATIONAL_MESH, QUALITATIVE_MESH)]
    return sorted(patterns) + tables + [repr(mesh)]

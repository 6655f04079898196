"""Dermatology encounters: which codes a visit produces and the documentation behind each line.

Codes follow the rules in domain-research section 3 (excised diameter = lesion + 2 x narrowest
margin; site groups; one primary biopsy code plus add-ons; 17000/17003/17004; Mohs by site; repairs
by length and site). Each line carries the documentation facts a letter or a coding check needs.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal

# Excision, shave and Mohs site groups (CPT): trunk/arms/legs; scalp/neck/hands/feet; face.
TRUNK, SCALP, FACE = "trunk_ext", "scalp_neck_hands", "face"


@dataclass(frozen=True, slots=True)
class Site:
    name: str
    group: str
    laterality: str
    zone: str  # Mohs appropriate-use area: H, M or L
    intermediate: str  # repair group for 1203x / 1204x / 1205x
    complex: str  # repair group for 1310x / 1312x / 1313x / 1315x
    region: str  # key into the ICD-10 tables below


SITES = (
    Site("back", TRUNK, "", "L", "trunk", "trunk", "trunk"),
    Site("chest", TRUNK, "", "L", "trunk", "trunk", "trunk"),
    Site("abdomen", TRUNK, "", "L", "trunk", "trunk", "trunk"),
    Site("right upper arm", TRUNK, "RT", "L", "trunk", "limbs", "arm_r"),
    Site("left upper arm", TRUNK, "LT", "L", "trunk", "limbs", "arm_l"),
    Site("right forearm", TRUNK, "RT", "L", "trunk", "limbs", "arm_r"),
    Site("left forearm", TRUNK, "LT", "L", "trunk", "limbs", "arm_l"),
    Site("right thigh", TRUNK, "RT", "L", "trunk", "limbs", "leg_r"),
    Site("left thigh", TRUNK, "LT", "L", "trunk", "limbs", "leg_l"),
    Site("right lower leg (pretibial)", TRUNK, "RT", "M", "trunk", "limbs", "leg_r"),
    Site("left lower leg (pretibial)", TRUNK, "LT", "M", "trunk", "limbs", "leg_l"),
    Site("scalp", SCALP, "", "M", "trunk", "limbs", "scalp_neck"),
    Site("neck", SCALP, "", "M", "neck_hands", "mid_face", "scalp_neck"),
    Site("right dorsal hand", SCALP, "RT", "H", "neck_hands", "mid_face", "arm_r"),
    Site("left dorsal hand", SCALP, "LT", "H", "neck_hands", "mid_face", "arm_l"),
    Site("nose", FACE, "", "H", "face", "eyelid_nose", "nose"),
    Site("right cheek", FACE, "", "M", "face", "mid_face", "face"),
    Site("left cheek", FACE, "", "M", "face", "mid_face", "face"),
    Site("forehead", FACE, "", "M", "face", "mid_face", "face"),
    Site("right temple", FACE, "", "H", "face", "mid_face", "face"),
    Site("chin", FACE, "", "H", "face", "mid_face", "face"),
    Site("right ear", FACE, "", "H", "face", "eyelid_nose", "ear_r"),
    Site("left ear", FACE, "", "H", "face", "eyelid_nose", "ear_l"),
    Site("lower lip", FACE, "", "H", "face", "eyelid_nose", "lip"),
)
SITE_BY_NAME = {s.name: s for s in SITES}
BODY_SITES = tuple(s for s in SITES if s.group == TRUNK)
HEAD_SITES = tuple(s for s in SITES if s.group != TRUNK)
EXTREMITY_PAIRS = (
    ("right upper arm", "left upper arm"),
    ("right forearm", "left forearm"),
    ("right thigh", "left thigh"),
)

# ICD-10-CM by region: basal cell, squamous cell, melanoma in situ, melanocytic nevus.
ICD = {
    "nose": ("C44.311", "C44.321", "D03.39", "D22.39"),
    "face": ("C44.319", "C44.329", "D03.39", "D22.39"),
    "ear_r": ("C44.212", "C44.222", "D03.21", "D22.21"),
    "ear_l": ("C44.219", "C44.229", "D03.22", "D22.22"),
    "lip": ("C44.01", "C44.02", "D03.0", "D22.0"),
    "scalp_neck": ("C44.41", "C44.42", "D03.4", "D22.4"),
    "trunk": ("C44.519", "C44.529", "D03.59", "D22.5"),
    "arm_r": ("C44.612", "C44.622", "D03.61", "D22.61"),
    "arm_l": ("C44.619", "C44.629", "D03.62", "D22.62"),
    "leg_r": ("C44.712", "C44.722", "D03.71", "D22.71"),
    "leg_l": ("C44.719", "C44.729", "D03.72", "D22.72"),
}
TUMOURS = {
    "BCC": (0, "basal cell carcinoma, nodular type"),
    "SCC": (1, "squamous cell carcinoma, well differentiated, invasive"),
    "MIS": (2, "melanoma in situ"),
}
CHRONIC = (
    ("L40.0", "plaque psoriasis"),
    ("L20.9", "atopic dermatitis"),
    ("L70.0", "acne vulgaris"),
    ("L71.9", "rosacea"),
    ("L21.9", "seborrheic dermatitis"),
    ("L25.9", "contact dermatitis"),
    ("L29.9", "pruritus"),
    ("L43.9", "lichen planus"),
    ("L63.9", "alopecia areata"),
    ("L73.2", "hidradenitis suppurativa"),
)
IMMUNOSUPPRESSION = ("Z94.0", "D84.821")
SEPARATE_NOTES = (
    "Separately evaluated {cond}: history, exam and plan documented; prescription changed.",
    "Full-body skin exam for {cond} follow-up; new treatment started; labs ordered.",
    "Worsening {cond} assessed beyond the procedure; systemic therapy discussed and started.",
)
PROCEDURE_ONLY_NOTES = (
    "Exam limited to the treated lesion(s); plan is the procedure performed today.",
    "Visit for the scheduled procedure; no separate problem addressed.",
)


@dataclass(slots=True)
class Line:
    """One billed service line and the documentation facts behind it."""

    code: str
    modifiers: list[str] = field(default_factory=list)
    units: int = 1
    facts: dict[str, str] = field(default_factory=dict)

    @property
    def procedure(self) -> str:
        return "-".join([self.code, *self.modifiers])

    @property
    def is_em(self) -> bool:
        return self.code.startswith("992")


@dataclass(slots=True)
class Encounter:
    """A visit: scenario name, lines, and whether it needs the Mohs surgeon."""

    scenario: str
    lines: list[Line]
    mohs: bool = False


def fmt_cm(value: Decimal) -> str:
    return f"{value:.1f}"


def _cm(rng: random.Random, low: float, high: float) -> Decimal:
    return Decimal(str(round(rng.uniform(low, high), 1)))


def size_band(diameter: Decimal) -> int:
    """Last digit of the excision / shave code family for an excised diameter in cm."""
    for limit, digit in ((Decimal("0.5"), 0), (1, 1), (2, 2), (3, 3), (4, 4)):
        if diameter <= limit:
            return digit
    return 6


def excision_code(malignant: bool, site: Site, diameter: Decimal) -> str:
    base = 11600 if malignant else 11400
    offset = {TRUNK: 0, SCALP: 20, FACE: 40}[site.group]
    return str(base + offset + size_band(diameter))


def shave_code(site: Site, diameter: Decimal) -> str:
    base = {TRUNK: 11300, SCALP: 11305, FACE: 11310}[site.group]
    band = 0 if diameter <= Decimal("0.5") else 1 if diameter <= 1 else 2 if diameter <= 2 else 3
    return str(base + band)


def repair_code(kind: str, site: Site, length: Decimal) -> str:
    """Repair code for a closure of `length` cm at `site` (simple, intermediate or complex)."""
    if kind == "complex" and length > 1:
        first, second = {
            "trunk": ("13100", "13101"),
            "limbs": ("13120", "13121"),
            "mid_face": ("13131", "13132"),
            "eyelid_nose": ("13151", "13152"),
        }[site.complex]
        return first if length <= Decimal("2.5") else second
    if kind == "simple":
        if site.group == FACE:
            return "12011" if length <= Decimal("2.5") else "12013"
        return "12001" if length <= Decimal("2.5") else "12002"
    if site.intermediate == "face":
        return "12051" if length <= Decimal("2.5") else "12052" if length <= 5 else "12053"
    if site.intermediate == "neck_hands":
        return "12041" if length <= Decimal("2.5") else "12042"
    return "12031" if length <= Decimal("2.5") else "12032" if length <= Decimal("7.5") else "12034"


def em_line(rng: random.Random, new_patient: bool, diagnosis: str, note: str) -> Line:
    if new_patient:
        code = rng.choices(("99202", "99203", "99204", "99205"), (10, 50, 35, 5))[0]
    else:
        code = rng.choices(("99212", "99213", "99214", "99215"), (15, 50, 30, 5))[0]
    return Line(code, facts={"diagnosis": diagnosis, "note": note})


def separate_em(rng: random.Random, new_patient: bool, separate: bool = True) -> Line:
    """The E/M beside a procedure, modifier 25, documented as separate work (or not)."""
    code, condition = rng.choice(CHRONIC)
    if separate:
        note = rng.choice(SEPARATE_NOTES).format(cond=condition)
        line = em_line(rng, new_patient, code, note)
    else:
        line = em_line(rng, new_patient, "", rng.choice(PROCEDURE_ONLY_NOTES))
    line.modifiers.append("25")
    return line


def em_only(rng: random.Random, new_patient: bool) -> Encounter:
    code, condition = rng.choice(CHRONIC)
    if rng.random() < 0.25:
        history = rng.choice(("Z85.828", "Z85.820"))
        return Encounter(
            "em_only",
            [
                em_line(
                    rng, new_patient, f"{history};Z12.83", "Skin cancer surveillance, full exam."
                )
            ],
        )
    return Encounter("em_only", [em_line(rng, new_patient, code, f"Follow-up of {condition}.")])


def ak_destruction(rng: random.Random) -> list[Line]:
    count = rng.choices((1, rng.randint(2, 14), rng.randint(15, 30)), (25, 60, 15))[0]
    site = rng.choice(("face", "scalp", "forearms", "dorsal hands"))
    facts = {
        "diagnosis": "L57.0",
        "site": site,
        "note": f"Cryotherapy of {count} actinic keratoses.",
    }
    if count >= 15:
        return [Line("17004", facts=facts)]
    lines = [Line("17000", facts=dict(facts))]
    if count > 1:
        lines.append(Line("17003", units=count - 1, facts=dict(facts)))
    return lines


def biopsy(rng: random.Random, sites: list[Site] | None = None) -> list[Line]:
    """One primary biopsy code for the highest-valued technique plus add-ons for the rest."""
    technique = rng.choices(("tangential", "punch", "incisional"), (70, 25, 5))[0]
    primary, addon = {
        "tangential": ("11102", "11103"),
        "punch": ("11104", "11105"),
        "incisional": ("11106", "11107"),
    }[technique]
    count = rng.choices((1, 2, 3), (70, 22, 8))[0]
    sites = sites or [rng.choice(SITES) for _ in range(count)]
    lines = []
    for index, site in enumerate(sites):
        region = ICD[site.region]
        pathology, diagnosis = rng.choice(
            (
                (TUMOURS["BCC"][1], region[0]),
                (TUMOURS["SCC"][1], region[1]),
                ("seborrheic keratosis", "L82.1"),
                ("dysplastic nevus, mild atypia", region[3]),
                ("actinic keratosis", "L57.0"),
                ("compound nevus", region[3]),
            )
        )
        facts = {
            "diagnosis": diagnosis,
            "site": site.name,
            "lesion_size_cm": fmt_cm(_cm(rng, 0.3, 1.5)),
            "pathology": pathology,
            "note": f"{technique.capitalize()} biopsy for histopathology.",
        }
        lines.append(Line(primary if index == 0 else addon, facts=facts))
    return lines


def benign_destruction(rng: random.Random, symptomatic: bool | None = None) -> list[Line]:
    wart = rng.random() < 0.5
    symptomatic = rng.random() < 0.8 if symptomatic is None else symptomatic
    count = rng.choices((rng.randint(1, 14), rng.randint(15, 25)), (88, 12))[0]
    code = "17110" if count <= 14 else "17111"
    if wart:
        diagnosis = rng.choice(("B07.8", "B07.0"))
        symptoms = "painful, spreading" if symptomatic else "none documented"
    else:
        diagnosis = "L82.0" if symptomatic else "L82.1"
        symptoms = rng.choice(("bleeding", "itching, irritated by clothing", "inflamed, crusted"))
        symptoms = symptoms if symptomatic else "none documented; patient requests removal"
    facts = {
        "diagnosis": diagnosis,
        "site": rng.choice(SITES).name,
        "symptoms": symptoms,
        "note": f"Destruction of {count} benign lesions.",
    }
    if wart and symptomatic:
        facts["prior_treatment"] = "salicylic acid 8 weeks without response"
    return [Line(code, facts=facts)]


def shave_removal(rng: random.Random, symptomatic: bool | None = None) -> list[Line]:
    site = rng.choice(SITES)
    size = _cm(rng, 0.3, 2.4)
    symptomatic = rng.random() < 0.75 if symptomatic is None else symptomatic
    diagnosis = rng.choice(("L82.0", ICD[site.region][3])) if symptomatic else "L82.1"
    facts = {
        "diagnosis": diagnosis,
        "site": site.name,
        "lesion_size_cm": fmt_cm(size),
        "symptoms": rng.choice(("bleeding", "catches on clothing, irritated", "recent change"))
        if symptomatic
        else "none documented",
        "pathology": "seborrheic keratosis, irritated" if symptomatic else "seborrheic keratosis",
    }
    return [Line(shave_code(site, size), facts=facts)]


def skin_tags(rng: random.Random, symptomatic: bool | None = None) -> list[Line]:
    count = rng.randint(3, 30)
    symptomatic = rng.random() < 0.6 if symptomatic is None else symptomatic
    facts = {
        "diagnosis": "L91.8",
        "site": rng.choice(("neck", "axillae", "groin")),
        "symptoms": "irritated by collar and jewelry, bleeding"
        if symptomatic
        else "none documented",
        "note": f"Removal of {count} skin tags.",
    }
    lines = [Line("11200", facts=facts)]
    if count > 15:
        lines.append(Line("11201", units=(count - 15 + 9) // 10, facts=dict(facts)))
    return lines


def excision(
    rng: random.Random,
    malignant: bool,
    site: Site | None = None,
    repair: str | None = None,
) -> list[Line]:
    """An excision coded from the documented lesion size and narrowest margin, maybe repaired."""
    site = site or rng.choice(SITES)
    region = ICD[site.region]
    if malignant:
        tumour = rng.choices(("BCC", "SCC", "MIS"), (60, 30, 10))[0]
        size = _cm(rng, 0.4, 2.2)
        margin = {"BCC": Decimal("0.4"), "SCC": Decimal("0.5"), "MIS": Decimal("0.5")}[tumour]
        index, pathology = TUMOURS[tumour]
        diagnosis = region[index]
    else:
        size = _cm(rng, 0.3, 2.8)
        margin = Decimal(rng.choice(("0.1", "0.2", "0.2", "0.3")))
        pathology, diagnosis = rng.choice(
            (
                ("dysplastic nevus, moderate atypia", region[3]),
                ("epidermal inclusion cyst", "L72.0"),
                ("compound nevus", region[3]),
            )
        )
    diameter = size + 2 * margin
    facts = {
        "diagnosis": diagnosis,
        "site": site.name,
        "lesion_size_cm": fmt_cm(size),
        "margin_cm": fmt_cm(margin),
        "pathology": pathology,
        "note": f"Excised diameter {fmt_cm(diameter)} cm (lesion plus narrowest margin each side).",
    }
    line = Line(excision_code(malignant, site, diameter), facts=facts)
    lines = [line]
    if repair is None:
        chance = 0.4 if malignant else 0.3
        repair = (
            rng.choice(("intermediate", "intermediate", "complex")) if rng.random() < chance else ""
        )
    if repair:
        length = (diameter * 3).quantize(Decimal("0.1"))
        repair_facts = {
            "diagnosis": diagnosis,
            "site": site.name,
            "note": f"Layered closure ({repair}), repair length {fmt_cm(length)} cm.",
        }
        lines.append(Line(repair_code(repair, site, length), facts=repair_facts))
    return lines


def mohs(rng: random.Random, meets_criteria: bool | None = None) -> list[Line]:
    """Mohs by site group with stages, blocks and a repair; facts for appropriate-use criteria."""
    meets_criteria = rng.random() < 0.9 if meets_criteria is None else meets_criteria
    tumour = rng.choices(("BCC", "SCC", "MIS"), (68, 27, 5))[0]
    if meets_criteria:
        site = rng.choice(HEAD_SITES)
        recurrence = rng.choices(("primary", "recurrent"), (85, 15))[0]
        immunosuppressed = rng.random() < 0.1
    else:
        site = rng.choice([s for s in BODY_SITES if s.zone == "L"])
        recurrence, immunosuppressed, tumour = "primary", False, "BCC"
    size = _cm(rng, 0.5, 2.0) if meets_criteria else _cm(rng, 0.4, 0.9)
    index, pathology = TUMOURS[tumour]
    diagnosis = ICD[site.region][index]
    if immunosuppressed:
        diagnosis += ";" + rng.choice(IMMUNOSUPPRESSION)
    facts = {
        "diagnosis": diagnosis,
        "site": site.name,
        "lesion_size_cm": fmt_cm(size),
        "pathology": pathology + ("" if tumour != "BCC" else ", clear margins after final stage"),
        "tumor_type": tumour,
        "location_zone": site.zone,
        "recurrence": recurrence,
        "immunosuppressed": "yes" if immunosuppressed else "no",
        "note": "Surgeon acted as pathologist; stage map and histology documented.",
    }
    first, extra = ("17313", "17314") if site.group == TRUNK else ("17311", "17312")
    stages = rng.choices((1, 2, 3), (55, 35, 10))[0]
    lines = [Line(first, facts=facts)]
    if stages > 1:
        lines.append(Line(extra, units=stages - 1, facts=dict(facts)))
    if rng.random() < 0.08:
        lines.append(Line("17315", units=rng.randint(1, 2), facts=dict(facts)))
    if rng.random() < 0.7:
        length = (size * Decimal("2.5") + 1).quantize(Decimal("0.1"))
        kind = rng.choice(("intermediate", "complex"))
        lines.append(
            Line(
                repair_code(kind, site, length),
                facts={
                    "diagnosis": diagnosis,
                    "site": site.name,
                    "note": f"{kind.capitalize()} repair of the Mohs defect, {fmt_cm(length)} cm.",
                },
            )
        )
    return lines


def injection(rng: random.Random) -> list[Line]:
    diagnosis, condition = rng.choice(
        (("L91.0", "keloid"), ("L63.9", "alopecia areata"), ("L73.2", "hidradenitis"))
    )
    count = rng.randint(1, 12)
    facts = {
        "diagnosis": diagnosis,
        "site": rng.choice(("scalp", "chest", "axillae", "right ear", "back")),
        "note": f"Intralesional triamcinolone to {count} lesions of {condition}.",
        "prior_treatment": "topical steroid 8 weeks",
    }
    return [
        Line("11900" if count <= 7 else "11901", facts=facts),
        Line("J3301", units=rng.randint(1, 4), facts=dict(facts)),
    ]


def phototherapy(rng: random.Random, documented: bool = True) -> list[Line]:
    diagnosis = rng.choices(("L40.0", "L20.9", "L80"), (60, 25, 15))[0]
    code = "96920" if diagnosis == "L40.0" and rng.random() < 0.3 else "96910"
    facts = {
        "diagnosis": diagnosis,
        "site": "generalized" if code == "96910" else "elbows and knees",
        "prior_treatment": "failed high-potency topical steroids and calcipotriene for 12 weeks"
        if documented
        else "",
        "note": f"Phototherapy session; body surface area {rng.randint(5, 30)}%.",
    }
    return [Line(code, facts=facts)]


def cosmetic(rng: random.Random) -> list[Line]:
    code, text = rng.choice(
        (
            ("15788", "Superficial chemical peel, face, for photoaging."),
            ("11950", "Dermal filler injection, nasolabial folds."),
            ("17380", "Electrolysis epilation, upper lip."),
        )
    )
    return [Line(code, facts={"diagnosis": "Z41.1;L81.4", "symptoms": "none", "note": text})]


def global_period(rng: random.Random, with_79: bool = True) -> list[Line]:
    """A biopsy of a new, unrelated lesion inside an earlier excision's 10-day global period."""
    line = biopsy(rng, [rng.choice(SITES)])[0]
    line.facts["note"] += (
        f" New lesion unrelated to the excision {rng.randint(2, 9)} days ago (global period)."
    )
    if with_79:
        line.modifiers.append("79")
    return [line]

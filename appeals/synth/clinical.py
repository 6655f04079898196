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
    name: str  # the project's site vocabulary (data/rules/sites.json)
    group: str
    laterality: str  # RT, LT or ''
    zone: str  # Mohs appropriate-use area: H, M or L
    intermediate: str  # repair group for 1203x / 1204x / 1205x
    complex: str  # repair group for 1310x / 1312x / 1313x / 1315x
    region: str  # key into the ICD-10 tables below

    @property
    def side(self) -> str:
        return {"RT": "right", "LT": "left"}.get(self.laterality, "")

    @property
    def limb(self) -> bool:
        """Arms, legs and hands take RT/LT on the claim; the face does not."""
        return bool(self.laterality) and self.group != FACE

    @property
    def label(self) -> str:
        return " ".join(p for p in (self.side, self.name.replace("_", " ")) if p)

    def facts(self) -> dict[str, str]:
        facts = {"site": self.name}
        if self.side:
            facts["laterality"] = self.side
        return facts


def _pair(
    name: str, group: str, zone: str, inter: str, comp: str, region: str
) -> tuple[Site, Site]:
    return (
        Site(name, group, "RT", zone, inter, comp, region + "_r"),
        Site(name, group, "LT", zone, inter, comp, region + "_l"),
    )


SITES = (
    Site("back", TRUNK, "", "L", "trunk", "trunk", "trunk"),
    Site("chest", TRUNK, "", "L", "trunk", "trunk", "trunk"),
    Site("abdomen", TRUNK, "", "L", "trunk", "trunk", "trunk"),
    *_pair("upper_arm", TRUNK, "L", "trunk", "limbs", "arm"),
    *_pair("forearm", TRUNK, "L", "trunk", "limbs", "arm"),
    *_pair("thigh", TRUNK, "L", "trunk", "limbs", "leg"),
    *_pair("shin", TRUNK, "M", "trunk", "limbs", "leg"),
    Site("scalp", SCALP, "", "M", "trunk", "limbs", "scalp_neck"),
    Site("neck", SCALP, "", "M", "neck_hands", "mid_face", "scalp_neck"),
    *_pair("hand", SCALP, "H", "neck_hands", "mid_face", "arm"),
    Site("nose", FACE, "", "H", "face", "eyelid_nose", "nose"),
    *_pair("cheek", FACE, "M", "face", "mid_face", "face"),
    Site("forehead", FACE, "", "M", "face", "mid_face", "face"),
    Site("temple", FACE, "RT", "H", "face", "mid_face", "face"),
    Site("chin", FACE, "", "H", "face", "mid_face", "face"),
    *_pair("ear", FACE, "H", "face", "eyelid_nose", "ear"),
    Site("lip", FACE, "", "H", "face", "eyelid_nose", "lip"),
)
BODY_SITES = tuple(s for s in SITES if s.group == TRUNK)
HEAD_SITES = tuple(s for s in SITES if s.group != TRUNK)
EXTREMITY_PAIRS = tuple(
    (a, b) for a, b in zip(SITES, SITES[1:], strict=False) if a.name == b.name and a.limb
)


def find_site(name: str, laterality: str = "") -> Site | None:
    """The site with this vocabulary name (and side, if it has one)."""
    side = {"right": "RT", "left": "LT"}.get(laterality, laterality)
    return next((s for s in SITES if s.name == name and s.laterality in (side, "")), None) or next(
        (s for s in SITES if s.name == name), None
    )


# ICD-10-CM by region: basal cell, squamous cell, melanoma in situ, melanocytic nevus.
ICD = {
    "nose": ("C44.311", "C44.321", "D03.39", "D22.39"),
    "face": ("C44.319", "C44.329", "D03.39", "D22.39"),
    "face_r": ("C44.319", "C44.329", "D03.39", "D22.39"),
    "face_l": ("C44.319", "C44.329", "D03.39", "D22.39"),
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


def em_line(rng: random.Random, new_patient: bool, diagnosis: str, summary: str) -> Line:
    if new_patient:
        code = rng.choices(("99202", "99203", "99204", "99205"), (10, 50, 35, 5))[0]
    else:
        code = rng.choices(("99212", "99213", "99214", "99215"), (15, 50, 30, 5))[0]
    return Line(code, facts={"diagnosis": diagnosis, "clinical_summary": summary})


def separate_em(
    rng: random.Random, new_patient: bool, separate: bool = True, procedure_dx: str = ""
) -> Line:
    """The E/M beside a procedure, modifier 25, documented as separate work (or not)."""
    if separate:
        code, condition = rng.choice(CHRONIC)
        line = em_line(rng, new_patient, code, rng.choice(SEPARATE_NOTES).format(cond=condition))
        line.facts["separate_em"] = "yes"
        line.facts["em_reason"] = f"{condition}: assessed and treatment changed"
    else:
        line = em_line(rng, new_patient, procedure_dx, rng.choice(PROCEDURE_ONLY_NOTES))
        line.facts["separate_em"] = "no"
    line.modifiers.append("25")
    return line


def em_only(rng: random.Random, new_patient: bool) -> Encounter:
    code, condition = rng.choice(CHRONIC)
    if rng.random() < 0.25:
        history = rng.choice(("Z85.828", "Z85.820"))
        line = em_line(
            rng, new_patient, f"{history} Z12.83", "Skin cancer surveillance, full exam."
        )
        return Encounter("em_only", [line])
    return Encounter("em_only", [em_line(rng, new_patient, code, f"Follow-up of {condition}.")])


def ak_destruction(rng: random.Random) -> list[Line]:
    count = rng.choices((1, rng.randint(2, 14), rng.randint(15, 30)), (25, 60, 15))[0]
    site = rng.choice([s for s in SITES if s.name in ("forehead", "scalp", "forearm", "hand")])
    facts = {
        "diagnosis": "L57.0",
        **site.facts(),
        "lesion_count": str(count),
        "clinical_summary": f"Cryotherapy of {count} actinic keratoses.",
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
            **site.facts(),
            "lesion_id": chr(ord("A") + index),
            "lesion_size_cm": fmt_cm(_cm(rng, 0.3, 1.5)),
            "pathology": pathology,
            "suspicion_of_malignancy": "yes",
            "clinical_summary": f"{technique.capitalize()} biopsy for histopathology.",
        }
        lines.append(Line(primary if index == 0 else addon, facts=facts))
    return lines


def benign_destruction(rng: random.Random, symptomatic: bool | None = None) -> list[Line]:
    symptomatic = rng.random() < 0.8 if symptomatic is None else symptomatic
    wart = symptomatic and rng.random() < 0.5  # warts are infectious: never only cosmetic
    count = rng.choices((rng.randint(1, 14), rng.randint(15, 25)), (88, 12))[0]
    code = "17110" if count <= 14 else "17111"
    if wart:
        diagnosis = rng.choice(("B07.8", "B07.0"))
        symptoms = "painful, spreading"
    else:
        diagnosis = "L82.0" if symptomatic else "L82.1"
        symptoms = rng.choice(("bleeding", "itching, irritated by clothing", "inflamed, crusted"))
    facts = {
        "diagnosis": diagnosis,
        **rng.choice(SITES).facts(),
        "lesion_count": str(count),
        "symptoms": symptoms if symptomatic else "",
        "clinical_summary": f"Destruction of {count} benign lesions."
        + ("" if symptomatic else " Patient asked for removal for appearance."),
    }
    if wart:
        facts["prior_treatment"] = "salicylic acid 8 weeks without response"
    return [Line(code, facts=facts)]


def shave_removal(rng: random.Random, symptomatic: bool | None = None) -> list[Line]:
    site = rng.choice(SITES)
    size = _cm(rng, 0.3, 2.4)
    symptomatic = rng.random() < 0.75 if symptomatic is None else symptomatic
    facts = {
        "diagnosis": "L82.0" if symptomatic else "L82.1",
        **site.facts(),
        "lesion_size_cm": fmt_cm(size),
        "symptoms": rng.choice(("bleeding", "catches on clothing, irritated", "itching"))
        if symptomatic
        else "",
        "pathology": "seborrheic keratosis, irritated" if symptomatic else "seborrheic keratosis",
    }
    return [Line(shave_code(site, size), facts=facts)]


def skin_tags(rng: random.Random, symptomatic: bool | None = None) -> list[Line]:
    count = rng.randint(3, 30)
    symptomatic = rng.random() < 0.6 if symptomatic is None else symptomatic
    facts = {
        "diagnosis": "L91.8",
        "site": rng.choice(("neck", "neck", "chest", "back")),
        "lesion_count": str(count),
        "symptoms": "irritated by collar and jewelry, bleeding" if symptomatic else "",
        "clinical_summary": f"Removal of {count} skin tags.",
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
        **site.facts(),
        "lesion_size_cm": fmt_cm(size),
        "margin_cm": fmt_cm(margin),
        "excised_diameter_cm": fmt_cm(diameter),
        "pathology": pathology,
    }
    line = Line(excision_code(malignant, site, diameter), facts=facts)
    if site.limb:
        line.modifiers.append(site.laterality)
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
            **site.facts(),
            "repair_length_cm": fmt_cm(length),
            "clinical_summary": f"Layered closure ({repair} repair), {fmt_cm(length)} cm.",
        }
        lines.append(Line(repair_code(repair, site, length), facts=repair_facts))
    return lines


def mohs(rng: random.Random, meets_criteria: bool | None = None) -> list[Line]:
    """Mohs by site group with stages, blocks and a repair; facts for appropriate-use criteria."""
    meets_criteria = rng.random() < 0.9 if meets_criteria is None else meets_criteria
    tumour = rng.choices(("BCC", "SCC", "MIS"), (68, 27, 5))[0]
    if meets_criteria:
        site = rng.choice(HEAD_SITES)
        recurrent = rng.random() < 0.15
        immunosuppressed = rng.random() < 0.1
    else:
        site = rng.choice([s for s in BODY_SITES if s.zone == "L"])
        recurrent, immunosuppressed, tumour = False, False, "BCC"
    size = _cm(rng, 0.5, 2.0) if meets_criteria else _cm(rng, 0.4, 0.9)
    index, pathology = TUMOURS[tumour]
    diagnosis = ICD[site.region][index]
    if immunosuppressed:
        diagnosis += " " + rng.choice(IMMUNOSUPPRESSION)
    stages = rng.choices((1, 2, 3), (55, 35, 10))[0]
    facts = {
        "diagnosis": diagnosis,
        **site.facts(),
        "lesion_size_cm": fmt_cm(size),
        "pathology": pathology,
        "tumor_type": pathology,
        "recurrent": "yes" if recurrent else "no",
        "immunosuppressed": "yes" if immunosuppressed else "no",
        "mohs_stages": str(stages),
        "mohs_surgeon_is_pathologist": "yes",
        "clinical_summary": f"Mohs surgery, AUC area {site.zone}; stage map and histology kept.",
    }
    first, extra = ("17313", "17314") if site.group == TRUNK else ("17311", "17312")
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
                    **site.facts(),
                    "repair_length_cm": fmt_cm(length),
                    "clinical_summary": f"{kind.capitalize()} repair of the Mohs defect.",
                },
            )
        )
    return lines


def injection(rng: random.Random) -> list[Line]:
    diagnosis, condition, site = rng.choice(
        (
            ("L91.0", "keloid", ("ear", "RT")),
            ("L63.9", "alopecia areata", ("scalp", "")),
            ("L73.2", "hidradenitis", ("chest", "")),
            ("L91.0", "keloid", ("chest", "")),
        )
    )
    count = rng.randint(1, 12)
    facts = {
        "diagnosis": diagnosis,
        **(find_site(*site) or SITES[0]).facts(),
        "lesion_count": str(count),
        "clinical_summary": f"Intralesional triamcinolone to {count} lesions of {condition}.",
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
        "prior_treatment": "failed high-potency topical steroids and calcipotriene for 12 weeks"
        if documented
        else "",
        "clinical_summary": f"Phototherapy session; body surface area {rng.randint(5, 30)}%.",
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
    return [Line(code, facts={"diagnosis": "Z41.1 L81.4", "clinical_summary": text})]


def global_period(rng: random.Random, with_79: bool = True) -> list[Line]:
    """A biopsy of a new, unrelated lesion inside an earlier excision's 10-day global period."""
    line = biopsy(rng, [rng.choice(SITES)])[0]
    line.facts["prior_procedure_code"] = rng.choice(("11402", "11602", "11403", "11642"))
    line.facts["prior_days_before"] = str(rng.randint(2, 9))
    line.facts["relationship_to_prior"] = "unrelated"
    line.facts["same_physician_as_prior"] = "yes"
    line.facts["clinical_summary"] += " New lesion, unrelated to the recent excision."
    if with_79:
        line.modifiers.append("79")
    return [line]

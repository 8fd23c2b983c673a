"""Who is in the organisation: users, hunt groups, the org's numbers and its callers.

Built once per config from its own random stream, so the same people and numbers appear in every
chunk and every run.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

import numpy as np
import phonenumbers
from phonenumbers import PhoneNumberType

from callboard.generate.config import OrgConfig

FIRST_NAMES = (
    "Oliver", "Amelia", "George", "Isla", "Harry", "Ava", "Noah", "Mia", "Jack", "Ivy", "Leo", "Grace",
    "Arthur", "Freya", "Muhammad", "Lily", "Oscar", "Florence", "Charlie", "Sophia", "Jacob", "Emily",
    "Thomas", "Poppy", "Henry", "Ella", "Alfie", "Evie", "Theo", "Rosie", "William", "Sienna", "James",
    "Willow", "Archie", "Daisy", "Joshua", "Alice", "Freddie", "Matilda", "Isaac", "Harper", "Ethan",
    "Phoebe", "Lucas", "Chloe", "Samuel", "Aisha", "Daniel", "Priya", "Ryan", "Zara", "Adam", "Hannah",
    "Owen", "Megan", "Dylan", "Niamh", "Callum", "Erin",
)
LAST_NAMES = (
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel", "Robinson",
    "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Thomas", "Clarke",
    "Jackson", "Wood", "Harris", "Edwards", "Turner", "Martin", "Cooper", "Hill", "Ward", "Hughes",
    "Moore", "Clark", "King", "Harrison", "Lewis", "Baker", "Lee", "Allen", "Morris", "Khan", "Scott",
    "Watson", "Davis", "Parker", "James", "Bennett", "Young", "Phillips", "Richardson", "Mitchell",
    "Bailey", "Carter", "Cook", "Singh", "Shaw", "Bell", "Collins", "Morgan", "Kelly", "Begum",
)
COMPANY_WORDS = (
    "Acme", "Brightside", "Cobalt", "Dunmore", "Evergreen", "Foxglove", "Granite", "Harbour", "Ironbridge",
    "Juniper", "Kestrel", "Lowther", "Meridian", "Northgate", "Oakfield", "Pennine", "Quayside",
    "Riverside", "Summit", "Thornbury", "Unity", "Vale", "Westbrook", "Yardley",
)
COMPANY_SUFFIXES = ("Ltd", "Group", "& Co", "Services", "Partners", "Holdings")
GROUP_NAMES = (
    "Reception", "Sales", "Support", "Accounts", "Bookings", "Service Desk", "Renewals", "Dispatch",
    "Customer Care", "Technical", "Billing", "Returns",
)
# Relative incoming volume of the named groups (reception and support take the most).
GROUP_WEIGHTS = (1.4, 1.1, 1.3, 0.6, 0.8, 1.0, 0.5, 0.6, 1.0, 0.8, 0.6, 0.4)


@dataclass(frozen=True)
class NumberPlan:
    """How numbers of the org's country look: country code, national prefix, example prefixes."""

    country_code: int
    national_prefix: str
    mobile: str
    fixed: str

    @classmethod
    def for_region(cls, region: str) -> NumberPlan:
        region = region.upper()
        cc = phonenumbers.country_code_for_region(region)
        if not cc:
            raise ValueError(f"unknown country code {region!r}")
        meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
        mobile = phonenumbers.example_number_for_type(region, PhoneNumberType.MOBILE)
        fixed = phonenumbers.example_number_for_type(region, PhoneNumberType.FIXED_LINE)
        if mobile is None or fixed is None:
            raise ValueError(f"no number examples for {region!r}")
        return cls(cc, (meta.national_prefix or "") if meta else "",
                   phonenumbers.national_significant_number(mobile),
                   phonenumbers.national_significant_number(fixed))

    def random_nsn(self, rng: np.random.Generator, n: int, *, mobile_share: float) -> np.ndarray:
        """``n`` national significant numbers shaped like the country's examples, keeping their
        leading digits (the range) and randomising the rest."""
        mobile = rng.random(n) < mobile_share
        out = np.empty(n, dtype=object)
        for is_mobile, example in ((True, self.mobile), (False, self.fixed)):
            sel = np.flatnonzero(mobile == is_mobile)
            keep = 2 if is_mobile else 1
            tail = len(example) - keep
            digits = rng.integers(0, 10 ** tail, size=len(sel))
            out[sel] = [f"{example[:keep]}{d:0{tail}d}" for d in digits.tolist()]
        return out


@dataclass(frozen=True)
class HuntGroup:
    name: str
    number: str
    ddi: str
    members: np.ndarray  # user indices in hunt order
    ring_timeout: int  # seconds each agent rings before the call moves on
    availability: float  # chance that the rung agent is free and picks up
    max_legs: int  # agents rung before the call overflows (to voicemail: lost)
    weight: float  # relative incoming volume


@dataclass(frozen=True)
class Organisation:
    """The people and numbers of one synthetic organisation."""

    config: OrgConfig
    user_names: np.ndarray
    user_exts: np.ndarray
    user_ddis: np.ndarray  # E.164
    user_activity: np.ndarray  # relative share of a user's own calls (sums to 1)
    groups: tuple[HuntGroup, ...]
    main_number: str  # E.164
    callers_e164: np.ndarray
    callers_national: np.ndarray
    caller_names: np.ndarray  # "" for callers not in the directory
    caller_popularity: np.ndarray  # sums to 1; a few callers call a lot
    trunk_lines: int  # the most lines any generated year has (see ``trunk_lines_for``)

    @classmethod
    def build(cls, config: OrgConfig, trunk_lines: int) -> Organisation:
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([config.seed, 1])))
        n = config.users
        combos = rng.permutation(len(FIRST_NAMES) * len(LAST_NAMES))
        names = [f"{FIRST_NAMES[c % len(FIRST_NAMES)]} {LAST_NAMES[c // len(FIRST_NAMES)]}"
                 for c in combos[:n].tolist()]
        names += [f"{names[i % len(combos)]} {i // len(combos) + 1}" for i in range(len(combos), n)]
        width = 3
        while n + 1 >= 10 ** (width - 1):
            width += 1
        exts = [str(10 ** (width - 1) + 1 + i) for i in range(n)]
        plan = NumberPlan.for_region(config.country_code)
        # The org's DDI block: one fixed-line range, users and groups numbered inside it.
        block = plan.random_nsn(rng, 1, mobile_share=0.0)[0][:-4]
        ddis = [f"+{plan.country_code}{block}{1000 + i:04d}" for i in range(n)]
        main = f"+{plan.country_code}{block}0000"
        activity = rng.lognormal(0.0, 0.5, n)

        groups = []
        for g in range(config.hunt_groups):
            size = int(rng.integers(3, 9)) if n >= 3 else n
            members = rng.choice(n, size=min(size, n), replace=False)
            timeout = int(rng.choice([12, 15, 15, 20]))
            groups.append(HuntGroup(
                name=GROUP_NAMES[g % len(GROUP_NAMES)] + (f" {g // len(GROUP_NAMES) + 1}"
                                                          if g >= len(GROUP_NAMES) else ""),
                number=str(2 * 10 ** (width - 1) + g),
                ddi=f"+{plan.country_code}{block}{9000 + g:04d}",
                members=members,
                ring_timeout=timeout,
                availability=float(rng.uniform(0.5, 0.66)),
                max_legs=max(2, min(2 * len(members), 180 // timeout)),
                weight=GROUP_WEIGHTS[g % len(GROUP_WEIGHTS)] * float(rng.uniform(0.8, 1.25)),
            ))

        n_callers = max(400, 60 * n)
        nsn = plan.random_nsn(rng, n_callers, mobile_share=0.6)
        e164 = np.array([f"+{plan.country_code}{s}" for s in nsn], dtype=object)
        national = np.array([f"{plan.national_prefix}{s}" for s in nsn], dtype=object)
        caller_names = np.full(n_callers, "", dtype=object)
        named = np.flatnonzero(rng.random(n_callers) < 0.3)
        first = rng.integers(0, len(FIRST_NAMES), len(named))
        last = rng.integers(0, len(LAST_NAMES), len(named))
        company = rng.random(len(named)) < 0.4
        cw = rng.integers(0, len(COMPANY_WORDS), len(named))
        cs = rng.integers(0, len(COMPANY_SUFFIXES), len(named))
        for j, i in enumerate(named.tolist()):
            caller_names[i] = (f"{COMPANY_WORDS[cw[j]]} {COMPANY_SUFFIXES[cs[j]]}" if company[j]
                               else f"{FIRST_NAMES[first[j]]} {LAST_NAMES[last[j]]}")
        popularity = 1.0 / np.arange(1, n_callers + 1) ** 0.7
        popularity = rng.permutation(popularity / popularity.sum())

        return cls(
            config=config,
            user_names=np.array(names, dtype=object),
            user_exts=np.array(exts, dtype=object),
            user_ddis=np.array(ddis, dtype=object),
            user_activity=activity / activity.sum(),
            groups=tuple(groups),
            main_number=main,
            callers_e164=e164,
            callers_national=national,
            caller_names=caller_names,
            caller_popularity=popularity,
            trunk_lines=trunk_lines,
        )

    @property
    def trunk_names(self) -> list[str]:
        return [f"SIP-TRUNK-{i + 1}" for i in range(self.trunk_lines)]


def month_id_prefixes(config: OrgConfig, month: date) -> tuple[str, str]:
    """The UUID-shaped prefixes of the docIds and connIds of one calendar month's records (the
    ids end in 12 digits: the record's rank in its month). Hashed from the organisation (every
    knob but the period) and the month, so a month's ids are the same whatever period it is
    generated in, and differ from every other month's and organisation's."""
    digest = hashlib.sha256(f"{config.org_digest()}\x1f{month:%Y-%m}".encode()).hexdigest()
    doc_prefix = f"{digest[0:8]}-{digest[8:12]}-4{digest[13:16]}-8{digest[17:20]}-"
    conn_prefix = f"{digest[20:28]}-{digest[28:32]}-4{digest[33:36]}-9{digest[37:40]}-"
    return doc_prefix, conn_prefix

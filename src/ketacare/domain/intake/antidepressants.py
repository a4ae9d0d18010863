"""Antidepressant names: the drugs the intake form offers, their class, and brand -> generic.

TRD needs failed trials of two *different* antidepressants (EU SmPC 4.1; clinical.md §4.1), so
trial drugs are compared by :func:`normalise_drug`: case and spacing are ignored, a trailing
release form (XR, XL, SR, CR, ER, LA) is dropped, and a known brand name maps to its generic.
Names not in :data:`ANTIDEPRESSANTS` or :data:`BRANDS` are compared after case and spacing only.

Brand names are those in common US/UK/EU use (product labels; e.g. Zoloft and Lustral are
sertraline). The list covers the drugs the intake form suggests; a clinic may type any name.
"""

from __future__ import annotations

import re
from typing import Final

from ketacare.domain.intake.model import DrugClass

#: Generic name -> drug class (the classes used for Thase-Rush staging, clinical.md §4.3).
ANTIDEPRESSANTS: Final[dict[str, DrugClass]] = {
    "citalopram": "ssri",
    "escitalopram": "ssri",
    "fluoxetine": "ssri",
    "fluvoxamine": "ssri",
    "paroxetine": "ssri",
    "sertraline": "ssri",
    "venlafaxine": "snri",
    "desvenlafaxine": "snri",
    "duloxetine": "snri",
    "levomilnacipran": "snri",
    "milnacipran": "snri",
    "amitriptyline": "tca",
    "clomipramine": "tca",
    "desipramine": "tca",
    "dosulepin": "tca",
    "doxepin": "tca",
    "imipramine": "tca",
    "lofepramine": "tca",
    "nortriptyline": "tca",
    "protriptyline": "tca",
    "trimipramine": "tca",
    "isocarboxazid": "maoi",
    "moclobemide": "maoi",
    "phenelzine": "maoi",
    "selegiline": "maoi",
    "tranylcypromine": "maoi",
    "bupropion": "bupropion",
    "mirtazapine": "mirtazapine",
    "vortioxetine": "vortioxetine",
    "trazodone": "trazodone",
    "agomelatine": "agomelatine",
    "vilazodone": "other",
}

#: Brand name (lower case) -> generic name.
BRANDS: Final[dict[str, str]] = {
    "celexa": "citalopram",
    "cipramil": "citalopram",
    "lexapro": "escitalopram",
    "cipralex": "escitalopram",
    "prozac": "fluoxetine",
    "sarafem": "fluoxetine",
    "luvox": "fluvoxamine",
    "faverin": "fluvoxamine",
    "paxil": "paroxetine",
    "seroxat": "paroxetine",
    "pexeva": "paroxetine",
    "zoloft": "sertraline",
    "lustral": "sertraline",
    "effexor": "venlafaxine",
    "efexor": "venlafaxine",
    "pristiq": "desvenlafaxine",
    "cymbalta": "duloxetine",
    "fetzima": "levomilnacipran",
    "savella": "milnacipran",
    "ixel": "milnacipran",
    "elavil": "amitriptyline",
    "anafranil": "clomipramine",
    "norpramin": "desipramine",
    "prothiaden": "dosulepin",
    "sinequan": "doxepin",
    "tofranil": "imipramine",
    "gamanil": "lofepramine",
    "pamelor": "nortriptyline",
    "aventyl": "nortriptyline",
    "allegron": "nortriptyline",
    "vivactil": "protriptyline",
    "surmontil": "trimipramine",
    "marplan": "isocarboxazid",
    "manerix": "moclobemide",
    "aurorix": "moclobemide",
    "nardil": "phenelzine",
    "emsam": "selegiline",
    "parnate": "tranylcypromine",
    "wellbutrin": "bupropion",
    "zyban": "bupropion",
    "remeron": "mirtazapine",
    "zispin": "mirtazapine",
    "trintellix": "vortioxetine",
    "brintellix": "vortioxetine",
    "desyrel": "trazodone",
    "oleptro": "trazodone",
    "molipaxin": "trazodone",
    "valdoxan": "agomelatine",
    "viibryd": "vilazodone",
}

_RELEASE_FORMS: Final = frozenset({"xr", "xl", "sr", "cr", "er", "la", "cd", "od"})
_JUNK: Final = re.compile(r"[®™]")


def normalise_drug(name: str) -> str:
    """The comparable name of an antidepressant: lower case, single spaces, generic if known.

    Examples
    --------
    >>> normalise_drug("  Sertraline "), normalise_drug("ZOLOFT"), normalise_drug("Effexor XR")
    ('sertraline', 'sertraline', 'venlafaxine')
    >>> normalise_drug("Venlafaxine  XL"), normalise_drug("Some New Drug")
    ('venlafaxine', 'some new drug')
    """
    words = _JUNK.sub("", name).lower().split()
    while len(words) > 1 and words[-1] in _RELEASE_FORMS:
        words.pop()
    text = " ".join(words)
    return BRANDS.get(text, text)

"""Intravenous ketamine models: Domino, Clements 250, Hijazi (racemic); Fanta 2015, Simons 2022
(S-ketamine).

Reliability labels follow ``reference/pk.md``: [P] primary source, [C] nlmixr2lib source traced
to the paper, [I] as implemented in opentiva (not checked against the paper).
"""

from __future__ import annotations

from ketacare.domain.pk.models import IIV, MammillaryModel, ModelInfo, rate_constant_model

__all__ = ["CLEMENTS_250", "DOMINO", "FANTA_2015", "HIJAZI", "SIMONS_2022"]

#: Otto 2021 (Eur J Clin Pharmacol 77:1181) log-normal Ω on V1 and CL, with covariance; the
#: reference (pk.md §1.4 item 5) proposes it for racemic models that publish no IIV.
_OTTO_2021 = IIV(
    names=("V1", "CL"),
    omega=((0.084, 0.023), (0.023, 0.026)),
    source="borrowed from Otto 2021 (S-ketamine, venous): ω² V1 0.084, CL 0.026, cov 0.023",
    borrowed=True,
)

_WEIGHT_LINEAR = (
    "Total body weight only: V1 ∝ WT and the rate constants do not depend on weight, so every "
    "volume and clearance scales linearly with WT."
)


class Domino(MammillaryModel):
    """Domino racemic ketamine, 3 compartments (the TCI "Domino" set).

    Citation: Domino EF et al. Ketamine kinetics in unmedicated and diazepam-premedicated
    subjects. Clin Pharmacol Ther 1984;36:645-653 (citation as usually given for the TCI set;
    opentiva cites PMID 7198883, which may be the 1982 Anesth Analg paper).
    Population: adult surgical subjects (not verified). Sampling site: not verified; the tiny
    V1 (4.4 L at 70 kg) gives an almost arterial early phase.

    Parameters [I] (opentiva ``Domino``; the same in fus_anes): V1 0.063 L/kg; k10 0.4381,
    k12 0.5921, k21 0.2470, k13 0.5900, k31 0.0146 min⁻¹. Half-lives 0.4, 4.6 and 115 min.

    Covariates: weight, linear. IIV: none published; Otto 2021 Ω on V1 and CL is borrowed.
    Limits: falls faster after an infusion than venous data (240 → 46 ng/mL in 40 min);
    predicts 240 ng/mL at the end of 0.5 mg/kg over 40 min vs ≈185 ng/mL observed (venous).
    """


class Clements250(MammillaryModel):
    """Clements & Nimmo 1981 ("Clements 250"), racemic ketamine, 2 compartments.

    Citation: Clements JA, Nimmo WS. Pharmacokinetics and analgesic effect of ketamine in man.
    Br J Anaesth 1981;53:27-30, doi:10.1093/bja/53.1.27. Population: adult volunteers (not
    verified). Sampling site: not verified.

    Parameters [I] (opentiva ``Clements250``): V1 1.7522 L/kg; k10 0.0109, k12 0.0186,
    k21 0.0137 min⁻¹. Half-lives 17.6 and 183 min.

    Covariates: weight, linear. IIV: Otto 2021, borrowed. Limits: the large V1 (123 L) makes
    the early phase flat, closer to venous sampling; values not checked against the paper.
    """


class Hijazi(MammillaryModel):
    """Hijazi 2003, racemic ketamine, 2 compartments.

    Citation: Hijazi Y et al. Pharmacokinetics and haemodynamics of ketamine in intensive care
    patients with brain or spinal cord injury. Br J Anaesth 2003;90:155-160,
    doi:10.1093/bja/aeg028. Population: adult ICU patients (opentiva's ``age_upper = 18`` looks
    like a bug). Sampling site: not verified.

    Parameters [I] (opentiva ``Hijazi``): V1 1.08 L/kg; k10 0.0333, k12 0.0088, k21 0.0030
    min⁻¹. Half-lives 16 and 297 min.

    Covariates: weight, linear. IIV: Otto 2021, borrowed. Limits: ICU population with long
    infusions; units (min⁻¹, L/kg) not verified against the paper.
    """


class Fanta2015(MammillaryModel):
    """Fanta 2015, S-ketamine, 3 compartments, venous.

    Citation: Fanta S, Kinnunen M, Backman JT, Kalso E. Population pharmacokinetics of
    S-ketamine and norketamine in healthy volunteers after intravenous and oral dosing.
    Eur J Clin Pharmacol 2015;71:441-447, doi:10.1007/s00228-015-1826-y.
    Population: 11 healthy men, 0.125 mg/kg IV and 0.25 mg/kg oral. Sampling site: venous.

    Parameters [C] at 70 kg: V1 133 L, CL 95.2 L/h, Vp1 187 L, Q1 23.2 L/h, Vp2 98.8 L,
    Q2 157 L/h. Half-lives 0.21, 1.49 and 7.4 h.

    Covariates: weight, allometric (WT/70)^1 on volumes and ^0.75 on clearances, as in Otto
    2021 (assumed; Fanta's population was too small to estimate it). IIV: CL 13 % CV [P];
    V1 ω² 0.084 borrowed from Otto 2021. Limits: S-ketamine only; a racemic dose simulated
    with it is an approximation (S and R clearances differ by about 20 %); oral route and
    norketamine not implemented.
    """


class Simons2022(MammillaryModel):
    """Simons 2022, S-ketamine, 3 compartments, arterial.

    Citation: Simons P et al. Front Pain Res 2022;3:946486, doi:10.3389/fpain.2022.946486.
    Population: 20 healthy volunteers. Sampling site: arterial.

    Parameters [C] at 70 kg: VK1 11.6 L, VK2 39.0 L, VK3 174 L; CLK1 (elimination) 1.48 L/min,
    CLK2 2.43 L/min, CLK3 1.21 L/min. Half-lives 0.02, 0.36 and 3.2 h.

    Covariates: weight, allometric (WT/70)^1 / ^0.75 (assumed, Otto 2021 form). IIV [C]:
    ω² VK1 0.057, CLK1 0.029, CLK3 0.026. Limits: arterial concentrations are higher than
    venous ones during an infusion and lower after it; S-ketamine only; oral thin film and
    metabolites not implemented.
    """


DOMINO = rate_constant_model(
    Domino,
    ModelInfo(
        key="domino",
        title="Domino (racemic ketamine, 3-compartment TCI set)",
        citation="Domino EF et al. Clin Pharmacol Ther 1984;36:645-653",
        doi="",
        analyte="racemic ketamine",
        routes=("iv",),
        population="adult surgical subjects (not verified)",
        sampling_site="not verified (behaves as arterial early on)",
        parameters=(
            ("V1", "0.063 L/kg", "4.41 L at 70 kg"),
            ("k10", "0.4381 /min", "CL 1.93 L/min at 70 kg"),
            ("k12 / k21", "0.5921 / 0.2470 /min", "V2 10.6 L"),
            ("k13 / k31", "0.5900 / 0.0146 /min", "V3 178 L"),
        ),
        covariates=_WEIGHT_LINEAR,
        limits=(
            "Steep post-infusion fall (V1 4.4 L); 240 ng/mL at the end of 0.5 mg/kg over 40 min "
            "vs about 185 ng/mL observed (venous, Zarate 2006)."
        ),
        reliability="[I] opentiva; citation/PMID to verify",
    ),
    _OTTO_2021,
    v1_l_per_kg=0.063,
    k10=0.4381,
    k12=0.5921,
    k21=0.2470,
    k13=0.5900,
    k31=0.0146,
)

CLEMENTS_250 = rate_constant_model(
    Clements250,
    ModelInfo(
        key="clements-250",
        title="Clements & Nimmo 1981 (racemic ketamine, 2-compartment)",
        citation="Clements JA, Nimmo WS. Br J Anaesth 1981;53:27-30",
        doi="10.1093/bja/53.1.27",
        analyte="racemic ketamine",
        routes=("iv",),
        population="adults (not verified)",
        sampling_site="not verified",
        parameters=(
            ("V1", "1.7522 L/kg", "122.7 L at 70 kg"),
            ("k10", "0.0109 /min", "CL 1.34 L/min at 70 kg"),
            ("k12 / k21", "0.0186 / 0.0137 /min", "V2 166.5 L"),
        ),
        covariates=_WEIGHT_LINEAR,
        limits="Values as implemented in opentiva, not checked against the paper.",
        reliability="[I] opentiva",
    ),
    _OTTO_2021,
    v1_l_per_kg=1.7522,
    k10=0.0109,
    k12=0.0186,
    k21=0.0137,
)

HIJAZI = rate_constant_model(
    Hijazi,
    ModelInfo(
        key="hijazi",
        title="Hijazi 2003 (racemic ketamine, 2-compartment)",
        citation="Hijazi Y et al. Br J Anaesth 2003;90:155-160",
        doi="10.1093/bja/aeg028",
        analyte="racemic ketamine",
        routes=("iv",),
        population="adult ICU patients with brain or spinal cord injury",
        sampling_site="not verified",
        parameters=(
            ("V1", "1.08 L/kg", "75.6 L at 70 kg"),
            ("k10", "0.0333 /min", "CL 151 L/h at 70 kg"),
            ("k12 / k21", "0.0088 / 0.0030 /min", "Vss 297 L"),
        ),
        covariates=_WEIGHT_LINEAR,
        limits="ICU population; units not verified against the paper.",
        reliability="[I] opentiva",
    ),
    _OTTO_2021,
    v1_l_per_kg=1.08,
    k10=0.0333,
    k12=0.0088,
    k21=0.0030,
)

_ALLOMETRIC = (
    "Weight, allometric: volumes × (WT/70), clearances × (WT/70)^0.75 (assumed, Otto 2021 form)."
)

FANTA_2015 = Fanta2015(
    ModelInfo(
        key="fanta-2015",
        title="Fanta 2015 (S-ketamine, 3-compartment, venous)",
        citation="Fanta S, Kinnunen M, Backman JT, Kalso E. Eur J Clin Pharmacol 2015;71:441-447",
        doi="10.1007/s00228-015-1826-y",
        analyte="S-ketamine (esketamine)",
        routes=("iv",),
        population="11 healthy men",
        sampling_site="venous",
        parameters=(
            ("V1", "133 L", "IIV borrowed: ω² 0.084 (Otto 2021)"),
            ("CL", "95.2 L/h", "IIV 13 % CV"),
            ("Vp1 / Q1", "187 L / 23.2 L/h", ""),
            ("Vp2 / Q2", "98.8 L / 157 L/h", ""),
        ),
        covariates=_ALLOMETRIC,
        limits="S-ketamine only; racemic doses are an approximation; oral route not implemented.",
        reliability="[C] nlmixr2lib; CL IIV [P]",
    ),
    IIV(
        names=("V1", "CL"),
        omega=((0.084, 0.0), (0.0, 0.016764)),  # ln(1 + 0.13²) for CL
        source="CL 13 % CV (Fanta 2015); V1 ω² 0.084 borrowed from Otto 2021",
        borrowed=True,
    ),
    v1_l=133.0,
    cl_l_per_min=95.2 / 60.0,
    q_l_per_min=(23.2 / 60.0, 157.0 / 60.0),
    vp_l=(187.0, 98.8),
    volume_exponent=1.0,
    clearance_exponent=0.75,
)

SIMONS_2022 = Simons2022(
    ModelInfo(
        key="simons-2022",
        title="Simons 2022 (S-ketamine, 3-compartment, arterial)",
        citation="Simons P et al. Front Pain Res 2022;3:946486",
        doi="10.3389/fpain.2022.946486",
        analyte="S-ketamine (esketamine)",
        routes=("iv",),
        population="20 healthy volunteers",
        sampling_site="arterial",
        parameters=(
            ("VK1", "11.6 L", "ω² 0.057"),
            ("CLK1 (elimination)", "1.48 L/min", "ω² 0.029"),
            ("VK2 / CLK2", "39.0 L / 2.43 L/min", ""),
            ("VK3 / CLK3", "174 L / 1.21 L/min", "ω² 0.026 on CLK3"),
        ),
        covariates=_ALLOMETRIC,
        limits="Arterial: above venous during infusion, below after; S-ketamine only.",
        reliability="[C] nlmixr2lib",
    ),
    IIV(
        names=("V1", "CL", "Q3"),
        omega=((0.057, 0.0, 0.0), (0.0, 0.029, 0.0), (0.0, 0.0, 0.026)),
        source="Simons 2022 (own)",
    ),
    v1_l=11.6,
    cl_l_per_min=1.48,
    q_l_per_min=(2.43, 1.21),
    vp_l=(39.0, 174.0),
    volume_exponent=1.0,
    clearance_exponent=0.75,
)

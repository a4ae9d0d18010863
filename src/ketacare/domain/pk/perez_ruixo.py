"""Perez-Ruixo 2021 esketamine population PK model (nasal spray, IV), parent drug only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ketacare.domain.pk.engine import Input, LinearSystem
from ketacare.domain.pk.models import IIV, ModelInfo, PKModel
from ketacare.domain.pk.regimen import NASAL_DEVICE_MG, Covariates, Dose

__all__ = ["PEREZ_RUIXO_2021", "PerezRuixo2021"]

F64 = NDArray[np.float64]

# Compartments.
NASAL, GUT, CENTRAL, PERIPH1, PERIPH2, HEPATIC = range(6)


def _omega2(cv: float) -> float:
    """Log-normal variance for a CV (fraction): ω² = ln(1 + CV²)."""
    return float(np.log1p(cv * cv))


_IIV_NAMES = ("FRn", "ka_n", "ka_sw", "Vc", "Vp1", "Qh", "Vh", "kel")
_IIV_VAR = (0.708**2, *(_omega2(c) for c in (0.615, 1.32, 0.275, 0.493, 0.232, 0.346, 1.20)))


@dataclass(frozen=True)
class PerezRuixo2021(PKModel):
    """Perez-Ruixo 2021 joint esketamine model; the esketamine (parent) part.

    Citation: Perez-Ruixo C, Rossenu S, Zannikos P, Nandy P, Singh J, Drevets WC,
    Perez-Ruixo JJ. Population pharmacokinetics of esketamine nasal spray and its metabolite
    noresketamine in healthy subjects and patients with treatment-resistant depression.
    Clin Pharmacokinet 2021;60(4):501-516, doi:10.1007/s40262-020-00953-4.

    Population: 820 subjects (256 healthy, 564 TRD) in 13 studies; age 18-86 (median 45),
    weight 39-170 kg; intranasal 14-112 mg, IV 28 mg over 40 min, oral 84 mg.
    Sampling site: venous plasma (clinical-trial samples; assumed).

    Structure (ODEs as corrected in nlmixr2lib [C]): nasal depot → central (ka_n); swallowed
    part as a zero-order input (Dsw) into a gut depot → hepato-portal compartment (ka_sw);
    central ↔ two peripherals; central ↔ hepatic (Qh, Vh) with hepatic elimination
    kel + kmet (well-stirred first pass). Each 28 mg device absorbs FRn nasally (devices after
    the first 0.62 × FRn); the rest is swallowed, of which Fgut reaches the gut depot.

    Parameters (Table 3, via nlmixr2lib [C]): FRn 0.54 (IIV 70.8 %, additive on the logit
    scale, used here as SD 0.708); dose effect 0.62; ka_n 2.93 h⁻¹ (61.5 %); Dsw 0.53 h;
    ka_sw 1.45 h⁻¹ (132 %); Fgut 0.64; Vc 192 L (27.5 %); Q1 84.3 L/h; Vp1 143 L (49.3 %);
    Q2 37.6 L/h; Vp2 417 L; Qh 151 L/h (23.2 %); Vh 101 L (34.6 %); kel 1.11 h⁻¹ (120 %);
    kmet 2.77 h⁻¹ (no IIV published). Log-normal CVs are converted with ω² = ln(1 + CV²).

    Covariates: age, Qh = 151 − 2.19 × (age − 60) L/h above 60 years. Not implemented: Asian
    (kel × 0.36), Japanese (FRn × 1.34), noresketamine, oral solution.

    Limits: Table 4 is reproduced within about 1 % (Cmax) but the model over-predicts
    noresketamine AUC by 1.4-1.5× (not simulated here). The paper's Table 4 gives all devices
    at once; real use spaces them 5 min apart (``Dose.device_interval_min``).
    """

    info: ModelInfo
    iiv: IIV
    frn: float = 0.54
    frn_later_devices: float = 0.62
    ka_n_per_h: float = 2.93
    dsw_h: float = 0.53
    ka_sw_per_h: float = 1.45
    fgut: float = 0.64
    vc_l: float = 192.0
    q1_l_per_h: float = 84.3
    vp1_l: float = 143.0
    q2_l_per_h: float = 37.6
    vp2_l: float = 417.0
    qh_l_per_h: float = 151.0
    qh_age_slope_l_per_h_per_year: float = 2.19
    vh_l: float = 101.0
    kel_per_h: float = 1.11
    kmet_per_h: float = 2.77

    def _p(self, eta: F64, name: str, typical: float | F64) -> F64:
        out: F64 = typical * np.exp(self.eta_of(eta, name))
        return out

    def system(self, cov: Covariates, eta: F64) -> LinearSystem:
        """Rate matrices (min⁻¹; the paper's h⁻¹ divided by 60) and output weights."""
        h = 60.0
        qh_typ = self.qh_l_per_h - self.qh_age_slope_l_per_h_per_year * np.maximum(
            cov.age_years - 60.0, 0.0
        )
        qh = self._p(eta, "Qh", np.maximum(qh_typ, 1.0)) / h
        vc = self._p(eta, "Vc", self.vc_l)
        vp1 = self._p(eta, "Vp1", self.vp1_l)
        vh = self._p(eta, "Vh", self.vh_l)
        ka_n = self._p(eta, "ka_n", self.ka_n_per_h) / h
        ka_sw = self._p(eta, "ka_sw", self.ka_sw_per_h) / h
        kel = self._p(eta, "kel", self.kel_per_h) / h
        kmet = self.kmet_per_h / h
        q1, q2, vp2 = self.q1_l_per_h / h, self.q2_l_per_h / h, self.vp2_l
        k = np.zeros((cov.n, 6, 6))
        k[:, NASAL, NASAL] = -ka_n
        k[:, CENTRAL, NASAL] = ka_n
        k[:, GUT, GUT] = -ka_sw
        k[:, HEPATIC, GUT] = ka_sw
        k[:, CENTRAL, CENTRAL] = -(q1 + q2 + qh) / vc
        k[:, CENTRAL, PERIPH1] = q1 / vp1
        k[:, CENTRAL, PERIPH2] = q2 / vp2
        k[:, CENTRAL, HEPATIC] = qh / vh
        k[:, PERIPH1, CENTRAL] = q1 / vc
        k[:, PERIPH1, PERIPH1] = -q1 / vp1
        k[:, PERIPH2, CENTRAL] = q2 / vc
        k[:, PERIPH2, PERIPH2] = -q2 / vp2
        k[:, HEPATIC, CENTRAL] = qh / vc
        k[:, HEPATIC, HEPATIC] = -(qh / vh + kel + kmet)
        out = np.zeros((cov.n, 6))
        out[:, CENTRAL] = 1000.0 / vc
        return LinearSystem(k, out)

    def nasal_fraction(self, eta: F64) -> F64:
        """Fraction of the first device absorbed through the nasal mucosa, per patient."""
        logit = np.log(self.frn / (1.0 - self.frn)) + self.eta_of(eta, "FRn")
        out: F64 = 1.0 / (1.0 + np.exp(-logit))
        return out

    def inputs(self, doses: Sequence[Dose], cov: Covariates, eta: F64) -> list[Input]:
        """Nasal devices (nasal depot + swallowed zero-order input) and IV doses."""
        self.check_routes(doses)
        frn = self.nasal_fraction(eta)
        out: list[Input] = []
        for d in doses:
            amount = d.amount_for(cov.weight_kg)
            if d.route == "iv":
                out.append(Input(d.time_min, amount, CENTRAL, d.duration_min))
                continue
            n_dev = round(float(d.amount_mg) / NASAL_DEVICE_MG)
            for i in range(n_dev):
                t = d.time_min + i * d.device_interval_min
                f = frn if i == 0 else self.frn_later_devices * frn
                out.append(Input(t, f * NASAL_DEVICE_MG, NASAL))
                swallowed = (1.0 - f) * self.fgut * NASAL_DEVICE_MG
                out.append(Input(t, swallowed, GUT, self.dsw_h * 60.0))
        return out


PEREZ_RUIXO_2021 = PerezRuixo2021(
    ModelInfo(
        key="perez-ruixo-2021",
        title="Perez-Ruixo 2021 (esketamine nasal spray and IV)",
        citation=(
            "Perez-Ruixo C, Rossenu S, Zannikos P, Nandy P, Singh J, Drevets WC, Perez-Ruixo JJ. "
            "Clin Pharmacokinet 2021;60(4):501-516"
        ),
        doi="10.1007/s40262-020-00953-4",
        analyte="esketamine",
        routes=("nasal", "iv"),
        population="820 subjects (256 healthy, 564 TRD), age 18-86, weight 39-170 kg",
        sampling_site="venous plasma (assumed)",
        parameters=(
            ("FRn (nasal fraction, 1st device)", "0.54", "IIV SD 0.708 on logit scale"),
            ("FRn factor, later devices", "0.62", ""),
            ("ka nasal", "2.93 /h", "61.5 %"),
            ("Dsw (swallowed, zero-order)", "0.53 h", ""),
            ("ka swallowed", "1.45 /h", "132 %"),
            ("Fgut", "0.64", ""),
            ("Vc", "192 L", "27.5 %"),
            ("Q1 / Vp1", "84.3 L/h / 143 L", "Vp1 49.3 %"),
            ("Q2 / Vp2", "37.6 L/h / 417 L", ""),
            ("Qh", "151 L/h − 2.19 L/h per year over 60", "23.2 %"),
            ("Vh", "101 L", "34.6 %"),
            ("kel (hepatic, other metabolites)", "1.11 /h", "120 %"),
            ("kmet (to noresketamine)", "2.77 /h", "none published"),
        ),
        covariates="Age: Qh falls by 2.19 L/h per year above 60. Ethnicity not implemented.",
        limits=(
            "Parent drug only (noresketamine AUC is over-predicted 1.4-1.5× by the model); "
            "Table 4 doses all devices at once."
        ),
        reliability="[P]/[C] (Table 3 via nlmixr2lib)",
    ),
    IIV(
        names=_IIV_NAMES,
        omega=tuple(
            tuple(v if i == j else 0.0 for j in range(len(_IIV_VAR)))
            for i, v in enumerate(_IIV_VAR)
        ),
        source="Perez-Ruixo 2021 Table 3 (own); FRn on the logit scale; no IIV on kmet",
    ),
)

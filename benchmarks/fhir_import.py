"""FHIR import speed: Synthea bundles into SQLite vs fhir.resources parse-only, same run.

Run: ``.venv/bin/python benchmarks/fhir_import.py`` (``--rounds N``, default 5).
Both figures count every Bundle entry as a resource and include reading and decoding the JSON.
Import: one transaction per bundle into a migrated SQLite database (a new clinic each round, so
nothing is skipped as already imported). Parse-only: ``fhir.resources.R4B`` ``Bundle``
validation of the same files. Targets: >= 2,000 resources/s and >= 1/3 of parse-only.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from fhir.resources.R4B.bundle import Bundle

from ketacare.db import migrate
from ketacare.db.engine import get_engine, unit_of_work
from ketacare.features.auth.actor import Actor
from ketacare.features.clinics.repository import get_or_create
from ketacare.features.interop.importer import import_bundle

SYNTHEA = Path(__file__).resolve().parents[1] / "tests" / "data" / "synthea"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    files = sorted(SYNTHEA.glob("california__*.json"))
    blobs = [(p.name, p.read_bytes()) for p in files]
    resources = sum(len(json.loads(b)["entry"]) for _, b in blobs)
    with tempfile.TemporaryDirectory() as tmp:
        engine = get_engine(f"sqlite:///{tmp}/bench.db")
        migrate.upgrade(engine)
        best_import = float("inf")
        for n in range(args.rounds):
            with unit_of_work(engine) as db:
                clinic_id = get_or_create(db, f"bench-{n}", f"Bench {n}").id
            start = time.perf_counter()
            for name, blob in blobs:
                with unit_of_work(engine) as db:
                    import_bundle(db, clinic_id, json.loads(blob), name, Actor.cli(clinic_id))
            best_import = min(best_import, time.perf_counter() - start)
        engine.dispose()
    best_parse = float("inf")
    for _ in range(args.rounds):
        start = time.perf_counter()
        for _, blob in blobs:
            Bundle.model_validate(json.loads(blob))
        best_parse = min(best_parse, time.perf_counter() - start)
    imp, parse = resources / best_import, resources / best_parse
    print(f"files: {len(blobs)}, resources (bundle entries): {resources}, rounds: {args.rounds}")
    print(f"import into SQLite:         {imp:10,.0f} resources/s ({best_import * 1e3:.1f} ms)")
    print(f"fhir.resources parse-only:  {parse:10,.0f} resources/s ({best_parse * 1e3:.1f} ms)")
    print(f"import / parse-only:        {imp / parse:10.2f}x (target >= 0.33; >= 2,000/s)")


if __name__ == "__main__":
    main()

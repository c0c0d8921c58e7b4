"""Read kvmaudit's OSCAL documents as GRC tooling does: compliance-trestle loads them into its
OSCAL models, and jsonschema validates them against NIST's published JSON schemas (with the
`regex` module for the schemas' \\p{L} patterns). Prints a JSON summary for tests/oscal.rs.

usage: check.py SCHEMA_DIR CATALOG.json RESULTS.json
"""
import json
import pathlib
import sys

import jsonschema
import regex
from jsonschema import Draft7Validator, validators
from trestle.oscal.assessment_results import AssessmentResults
from trestle.oscal.catalog import Catalog


def pattern(validator, patrn, instance, schema):
    if validator.is_type(instance, "string") and not regex.search(patrn, instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {patrn!r}")


Validator = validators.extend(Draft7Validator, {"pattern": pattern})


def errors(schema_file, doc):
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    v = Validator(schema, format_checker=jsonschema.FormatChecker())
    return [f"{list(e.absolute_path)}: {e.message[:300]}" for e in v.iter_errors(doc)]


schemas, cat_path, ar_path = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3])
cat_doc = json.loads(cat_path.read_text(encoding="utf-8"))
ar_doc = json.loads(ar_path.read_text(encoding="utf-8"))

catalog = Catalog.oscal_read(cat_path)
results = AssessmentResults.oscal_read(ar_path)
result = results.results[0]
controls = {c.id for g in catalog.groups for c in g.controls}
parts = {p.id for g in catalog.groups for c in g.controls for p in (c.parts or [])}

# A document the schema must reject: the validator really checks.
broken = json.loads(json.dumps(ar_doc))
broken["assessment-results"]["results"][0]["findings"][0]["target"]["status"]["state"] = "maybe"

print(json.dumps({
    "trestle": {
        "groups": len(catalog.groups),
        "controls": len(controls),
        "observations": len(result.observations or []),
        "findings": len(result.findings or []),
        "states": sorted({f.target.status.state.value for f in result.findings or []}),
        "targets_in_catalog": all(f.target.target_id in parts for f in result.findings or []),
        "evidence": sum(len(o.relevant_evidence or []) for o in result.observations or []),
    },
    "schema_errors": {
        "catalog": errors(schemas / "oscal_catalog_schema.json", cat_doc),
        "assessment_results": errors(schemas / "oscal_assessment-results_schema.json", ar_doc),
        "broken": len(errors(schemas / "oscal_assessment-results_schema.json", broken)),
    },
}))

"""Reads a /metrics exposition on stdin with the Prometheus project's own
Python parser and prints what it read as one JSON object: family name ->
type, unit and samples (name, labels, value).

    parse_metrics.py classic       text format 0.0.4
    parse_metrics.py openmetrics   OpenMetrics 1.0

A text the parser refuses ends in a traceback and a non-zero exit. Used by
tests/tests/metrics_and_health.rs, so that what the Rust prometheus-client
crate writes is checked by a reader that shares no code with it; needs PyPI
prometheus-client (scripts/test installs it).
"""

import json
import math
import sys

from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics,
)
from prometheus_client.parser import text_string_to_metric_families as classic


def number(value):
    """JSON has no infinity nor NaN: those go out as text."""
    return value if math.isfinite(value) else str(value)


def main():
    parse = {"classic": classic, "openmetrics": openmetrics}[sys.argv[1]]
    families = {}
    for family in parse(sys.stdin.read()):
        # A family split in two is legal for neither format's consumers.
        if family.name in families:
            sys.exit(f"family {family.name} appears twice")
        families[family.name] = {
            "type": family.type,
            "unit": family.unit,
            "samples": [
                {"name": s.name, "labels": s.labels, "value": number(s.value)}
                for s in family.samples
            ],
        }
    json.dump(families, sys.stdout, sort_keys=True)


if __name__ == "__main__":
    main()

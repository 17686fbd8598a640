"""Scrapes GET /metrics as Prometheus would and parses it with the official Python client's text parser.

usage: prom.py <base_url> <token> <instance_id>
Prints one JSON line: {"ok": true, "content_type", "families": {name: type}, "samples": [...]} with the
samples of <instance_id> only, or {"ok": false, "error"}.
"""

import json
import sys
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def main() -> None:
    base, token, instance_id = sys.argv[1:4]
    request = urllib.request.Request(f"{base}/metrics", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            content_type = response.headers.get("content-type", "")
            text = response.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        print(json.dumps({"ok": False, "error": f"GET /metrics -> {e.code}"}))
        return
    families = {}
    samples = []
    for family in text_string_to_metric_families(text):
        families[family.name] = family.type
        for s in family.samples:
            if s.labels.get("instance_id") == instance_id:
                samples.append({"name": s.name, "labels": s.labels, "value": s.value})
    print(json.dumps({"ok": True, "content_type": content_type, "families": families, "samples": samples}))


if __name__ == "__main__":
    main()

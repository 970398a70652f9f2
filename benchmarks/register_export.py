"""Register a spec exported by ``tinyconv search --export`` as a zoo entry.

Measures the spec's network (parameters, receptive field, MACs) and writes it into the
zoo's ``searched.json`` with ``lab.zoo_entries.add_searched_entry`` (atomically;
other entries are kept, an entry of the same name is replaced). The tests then hold the
entry to the study it came from (``tests/results/test_searched.py``).

Usage::

    tinyconv search --study tc8k-search --dir benchmarks/results/search --export st8k
    python benchmarks/register_export.py benchmarks/results/search/tc8k-search/st8k.json \
        --description "searched under 8k: ..."
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lab.zoo_entries import add_searched_entry
from tinyconv.zoo.searched import SPECS_FILE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", type=Path, help="a JSON file written by tinyconv search --export")
    parser.add_argument("--description", required=True, help="one line for tinyconv models")
    parser.add_argument("--file", type=Path, default=SPECS_FILE, help="the zoo's searched.json")
    args = parser.parse_args(argv)
    spec = json.loads(args.spec.read_text(encoding="utf-8"))
    new = add_searched_entry(spec, args.description, args.file)
    print(f"{spec['name']}: {new['num_params']:,} parameters, receptive field {new['receptive_field']}, "
          f"{new['macs']:,} MACs; trial {spec['source']['trial']} of {spec['source']['study']} -> {args.file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

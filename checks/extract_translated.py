"""Extract the translated CloudFormation template from `sam validate --debug` output.

Usage: extract_translated.py DEBUG_LOG OUTPUT_JSON

`sam validate --debug` logs "<timestamp> | Translated template is:" followed by the
template as YAML; every other log line starts with a timestamp. Runs with the SAM
venv's Python (PyYAML comes with the SAM CLI).
"""

import json
import re
import sys
from pathlib import Path

import yaml

MARKER = "Translated template is:"
LOG_LINE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} \| ")


def extract(log_text: str) -> dict:
    lines = log_text.splitlines()
    for index, line in enumerate(lines):
        if LOG_LINE.match(line) and line.rstrip().endswith(MARKER):
            body = []
            for following in lines[index + 1 :]:
                if LOG_LINE.match(following):
                    break
                body.append(following)
            template = yaml.safe_load("\n".join(body))
            if not isinstance(template, dict) or "Resources" not in template:
                raise SystemExit(f"the text after {MARKER!r} is not a CloudFormation template")
            return template
    raise SystemExit(
        f"no {MARKER!r} in the sam validate --debug output: was it run with --debug and without "
        "a samconfig 'lint = true' for validate?"
    )


def main() -> None:
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    template = extract(Path(sys.argv[1]).read_text(encoding="utf-8"))
    out = Path(sys.argv[2])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(template, indent=2, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

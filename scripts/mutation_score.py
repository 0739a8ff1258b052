"""The mutation score per module from mutmut's results in mutants/ (see scripts/mutate).

    .venv/bin/python scripts/mutation_score.py [--survivors]

Score = caught / (caught + survived + suspicious + no tests), where caught is killed or timed
out (a mutant that makes the tests loop or hang is noticed, if slowly): a mutant no selected test
reaches counts against the module like one that survives. Modules with mutants not yet checked
are listed with how many are left.
"""
import json
import sys
from collections import Counter
from pathlib import Path

# mutmut 3's exit codes (mutmut/stats.py status_by_exit_code)
KILLED = {1, 3, 37}
SURVIVED = {0}
NO_TESTS = {5, 33}
TIMEOUT = {36, -24, 24, 152, 255}

ROOT = Path(__file__).resolve().parent.parent


def status(code):
    if code is None:
        return "not checked"
    if code in KILLED:
        return "killed"
    if code in SURVIVED:
        return "survived"
    if code in NO_TESTS:
        return "no tests"
    if code in TIMEOUT:
        return "timeout"
    if code == 34:
        return "skipped"
    return "suspicious"


def main(argv):
    rows, survivors = [], []
    for meta in sorted((ROOT / "mutants" / "rooms").rglob("*.py.meta")):
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        if not codes:
            continue
        module = str(meta.relative_to(ROOT / "mutants"))[: -len(".meta")]
        counts = Counter(status(code) for code in codes.values())
        rows.append((module, counts))
        survivors += [(name, status(code)) for name, code in codes.items() if status(code) in {"survived", "no tests"}]
    print(f"{'module':34} {'score':>6} {'killed':>7} {'survived':>9} {'no tests':>9} {'timeout':>8} {'unchecked':>10}")
    for module, c in rows:
        caught = c["killed"] + c["timeout"]
        judged = caught + c["survived"] + c["no tests"] + c["suspicious"]
        score = f"{100 * caught / judged:.0f} %" if judged else "-"
        print(f"{module:34} {score:>6} {c['killed']:>7} {c['survived']:>9} {c['no tests']:>9} {c['timeout']:>8} {c['not checked']:>10}")
    if "--survivors" in argv:
        for name, state in survivors:
            print(f"{state:9} {name}")


if __name__ == "__main__":
    main(sys.argv[1:])

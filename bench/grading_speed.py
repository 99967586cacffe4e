"""Benchmark: how long does grading a class take? (issue 18: 40 submissions of a 4-exercise
assignment, budget 20 minutes on the 2-core machine.)

Prints ONE JSON object to stdout (progress goes to stderr). See bench/README.md.

    python bench/grading_speed.py > bench/results/grading_speed_cpu_2core.json
    python bench/grading_speed.py --students 6          # a smoke run

It writes a roster and the per-student assignment (``vae_lib.assign --roster``), hands in one
notebook per student of the kinds a real class hands in (most right, some wrong, a known mistake,
blank, outputs edited to claim success, a corrupted file, one that never ends, one missing), and
times ``python -m vae_lib.grade`` on them. Every verdict is compared with the kind handed in, so a
fast but wrong grader does not pass.

The reference, in the same run: executing one right submission with nbclient and nothing else
(a fresh kernel, every cell), times the number of students. Grading cannot be much faster than
that floor; the ratio says what the grader adds (its probes, its checks, the files it writes).
A hang costs ``--timeout`` seconds on top, whatever the machine.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from train_speed import OtherLoad, busy_machine_reasons

from vae_lib import assign, grade, variants
from vae_lib._notebook_export import META

#: Two exercises of chapter 1 and one of chapters 2 and 3, all with variants or fixed data.
EXERCISES = ["ex-bayes-silence", "ex-bayes-loaded-die", "ex-latent-parameters", "ex-mixture-density"]
#: The budget the issue sets for 40 students and 4 exercises.
BUDGET_S = 20 * 60
#: What a class of 40 hands in (the rest are right): kind -> how many.
KINDS = {"wrong": 8, "blank": 4, "named mistake": 3, "edited outputs": 2, "corrupted": 1, "infinite loop": 1,
         "missing": 1}
#: The verdict each kind must get on every exercise (None: any of "wrong" with a mistake named).
EXPECTED_VERDICTS = {"right": {"correct"}, "wrong": {"wrong"}, "blank": {"blank"}, "named mistake": {"wrong"},
                     "edited outputs": {"wrong"}, "corrupted": {"not a notebook"}, "infinite loop": {"correct", "timeout", "not run"},
                     "missing": {"no submission"}}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=40, help="class size (default 40)")
    parser.add_argument("--timeout", type=float, default=120, help="grade's --timeout per cell (default 120)")
    parser.add_argument("--reference-runs", type=int, default=3, help="plain executions timed for the reference")
    return parser.parse_args(argv)


def class_kinds(students: int) -> list[str]:
    """The kind each student hands in: the issue's mix scaled to the class, the rest right.

    >>> class_kinds(40).count("right"), class_kinds(40).count("infinite loop")
    (20, 1)
    """
    kinds = []
    for kind, count in KINDS.items():
        kinds += [kind] * max(1, round(count * students / 40))
    kinds = kinds[:students // 2]  # at least half the class is right, as in any class
    return kinds + ["right"] * (students - len(kinds))


def _answers(student: variants.Student, kind: str) -> dict[str, str]:
    """The line that replaces ``my_answer = None`` in each exercise's self-check cell."""
    answers = {}
    for exercise in assign.select(EXERCISES).exercises:
        variant, key = variants.variant_of(exercise.label), variants.key_for(student, exercise.label)
        if kind in ("right", "infinite loop"):
            code = exercise.solution_code if variant is None else variant.render(exercise.solution_code, key, code=True)
            answers[exercise.label] = "\n".join(line for line in code.splitlines() if "check_" not in line)
        elif kind == "named mistake":
            check = grade._check_functions([exercise])[exercise.label]
            answers[exercise.label] = f"my_answer = {float(_first_mistake(check, key))!r}"
        elif kind in ("wrong", "edited outputs"):
            answers[exercise.label] = "my_answer = 12345.6789"
    return answers


def _first_mistake(check_function, key):
    """A known mistake's value of the student's variant (found by watching the Check it builds)."""
    from vae_lib import checks

    seen, original = [], checks.Check.__call__
    checks.Check.__call__ = lambda check, answer, **options: seen.append(check) or original(check, answer, **options)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            check_function(None, variant=key) if key else check_function(None)
    finally:
        checks.Check.__call__ = original
    return seen[0]._mistakes[0].value


def hand_in(assignment: Path, submissions: Path, student: variants.Student, kind: str) -> None:
    """Write ``student``'s submission of ``kind`` into ``submissions``."""
    target = submissions / f"{student.id}.ipynb"
    if kind == "missing":
        return
    if kind == "corrupted":
        target.write_text('{"cells": [ not json', encoding="utf-8")
        return
    notebook = nbformat.read(assignment / student.id / "assignment.ipynb", as_version=4)
    answers = _answers(student, kind)
    for cell in notebook.cells:
        info = cell.metadata.get(META, {})
        if info.get("role") == "self-check" and info["exercise"] in answers:
            cell.source = re.sub(r"^my_answer = None.*$", lambda _: answers[info["exercise"]], cell.source,
                                 count=1, flags=re.M)
            if kind == "edited outputs":  # outputs that claim success: a grader must never read them
                cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="✓ Correct.\n")]
    if kind == "infinite loop":
        notebook.cells.insert(len(notebook.cells) // 2, nbformat.v4.new_code_cell("while True:\n    pass"))
    nbformat.write(notebook, target)


def reference_seconds(notebook_path: Path, runs: int) -> list[float]:
    """Plain nbclient executions of one notebook: a fresh kernel, every cell, nothing else."""
    seconds = []
    for _ in range(runs):
        notebook = nbformat.read(notebook_path, as_version=4)
        with tempfile.TemporaryDirectory() as workdir:
            start = time.perf_counter()
            NotebookClient(notebook, timeout=120, kernel_name="python3", allow_errors=True,
                           resources={"metadata": {"path": workdir}}).execute()
            seconds.append(time.perf_counter() - start)
    return seconds


def run(args) -> dict:
    cpu_count = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as folder, OtherLoad() as load:
        root = Path(folder)
        roster = root / "roster.csv"
        ids = [f"s{number:03d}" for number in range(1, args.students + 1)]
        roster.write_text("id,name\n" + "".join(f"{sid},Student {sid}\n" for sid in ids), encoding="utf-8")
        students = variants.read_roster(roster)
        kinds = dict(zip(ids, class_kinds(args.students)))
        if assign.main(["--exercises", ",".join(EXERCISES), "--roster", str(roster), "--out", str(root / "hw"),
                        "--no-pdf"]) != 0:
            raise SystemExit("assign failed")
        submissions = root / "submissions"
        submissions.mkdir()
        for student in students:
            hand_in(root / "hw", submissions, student, kinds[student.id])
        right = next(sid for sid, kind in kinds.items() if kind == "right")
        reference = reference_seconds(submissions / f"{right}.ipynb", args.reference_runs)

        start = time.perf_counter()
        status = grade.main([str(submissions), "--roster", str(roster), "--assignment", str(root / "hw"),
                             "--out", str(root / "grades"), "--timeout", f"{args.timeout:g}"])
        grading_s = time.perf_counter() - start
        rows = list(__import__("csv").DictReader((root / "grades" / "gradebook.csv").open(encoding="utf-8")))
    wrong_verdicts = [f"{row['student']} ({kinds[row['student']]}) {row['exercise']}: {row['verdict']}"
                      for row in rows if row["verdict"] not in EXPECTED_VERDICTS[kinds[row["student"]]]]
    hangs = sum(kind == "infinite loop" for kind in kinds.values())
    floor = statistics.median(reference) * args.students
    reasons = busy_machine_reasons(load, cpu_count)
    return {
        "benchmark": "grading_speed",
        "machine": {"cpus": cpu_count, "platform": platform.platform(), "python": platform.python_version()},
        "students": args.students,
        "exercises": EXERCISES,
        "kinds_handed_in": {kind: list(kinds.values()).count(kind) for kind in dict.fromkeys(kinds.values())},
        "grade_exit_status": status,
        "grading_seconds": round(grading_s, 1),
        "seconds_per_submission": round(grading_s / args.students, 2),
        "hang_seconds_included": hangs * args.timeout,
        "reference": {"what": "plain nbclient execution of one right submission, times the class size",
                      "one_execution_seconds": [round(s, 2) for s in reference],
                      "class_seconds": round(floor, 1)},
        "grading_over_reference_without_hangs": round((grading_s - hangs * args.timeout) / floor, 2),
        "budget_seconds": BUDGET_S,
        "within_budget": grading_s <= BUDGET_S,
        "verdicts_as_expected": not wrong_verdicts,
        "unexpected_verdicts": wrong_verdicts[:20],
        "timings_are_a_result": not reasons,
        "why_not": reasons,
        "load_average_at_start": None if load.load_average_at_start is None else round(load.load_average_at_start, 2),
        "cores_used_by_other_processes": load.cores_used_by_others() and round(load.cores_used_by_others(), 3),
    }


def main(argv=None) -> int:
    args = parse_args(argv)
    with contextlib.redirect_stdout(sys.stderr):  # keep stdout for the one JSON object
        result = run(args)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The benchmark's result file says what the README promises: the commit, the machine,
the parameters, and every figure beside the limit measured in the same run."""

import json

from bench.results import Figure, Run


def test_a_result_file_holds_commit_machine_parameters_and_each_figure_with_its_limit(tmp_path):
    run = Run(parameters={"records": 5000})
    limit = Figure.rate("consumer", "bare read + parse", 5000, 0.5, "records/s")
    run.figures += [
        limit,
        Figure.rate(
            "consumer",
            "screening inbox",
            5000,
            2.5,
            "records/s",
            limit="bare read + parse",
            limit_value=limit.value,
            target="≥ 1/5 of the parse-only read",
        ),
    ]

    path = run.write(tmp_path)

    data = json.loads(path.read_text())
    assert path.name.startswith(data["commit"] + "-")
    assert data["commit"] and data["started_at"]
    assert data["machine"]["cores"] >= 1 and data["machine"]["memory_gib"] > 0
    assert data["parameters"] == {"records": 5000}
    screening = data["figures"][1]
    assert screening["value"] == 2000.0 and screening["unit"] == "records/s"
    assert screening["limit_value"] == 10000.0 and screening["ratio"] == 0.2
    assert screening["details"] == {"count": 5000, "seconds": 2.5}
    assert data["figures"][0]["ratio"] is None  # a bare limit has nothing above it

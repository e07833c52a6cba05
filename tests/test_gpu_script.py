"""The device check `.ci/gpu`: its dry run works anywhere and leaves benchmarks/ alone.

The full run needs a GPU (`.venv/bin/python .ci/gpu --device cuda`); here the same four
stages run small on the CPU, which proves the script's plumbing: time limits, the JSON
report, the summary and the exit status.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / ".ci" / "gpu"
STAGES = ["warmup", "tests", "lectures", "bench", "torchrun"]


def _benchmarks() -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((ROOT / "benchmarks").iterdir())
            if p.is_file()}


def _gpu(*args: str, timeout: int) -> subprocess.CompletedProcess:
    env = {**os.environ, "GMLIB_PROGRESS": "0"}
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT, env=env)


def test_the_script_is_an_executable_python_script():
    assert os.access(SCRIPT, os.X_OK)
    assert SCRIPT.read_text().startswith("#!/usr/bin/env python3\n")


@pytest.mark.slow
def test_dry_run_on_the_cpu_passes_every_stage_and_leaves_benchmarks_alone(tmp_path):
    before = _benchmarks()
    run = _gpu("--device", "cpu", "--dry", "--out", str(tmp_path), timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    report = json.loads((tmp_path / "gpu-check.json").read_text())
    assert report["mode"] == "dry" and report["status"] == "ok"
    assert report["environment"]["device"] == "cpu"
    assert report["environment"]["torch"] == torch.__version__
    assert list(report["stages"]) == STAGES
    for name, stage in report["stages"].items():
        assert stage["status"] == "ok", (name, stage)
        assert stage["seconds"] > 0, name
        for item, result in stage["items"].items():
            assert result["status"] == "ok" and result["seconds"] > 0, (name, item)
            assert result["seconds"] <= result["limit_seconds"], (name, item)
    assert set(report["lecture_seconds"]) == {"00_introduction"}
    assert all(s > 0 for s in report["lecture_seconds"].values())
    assert report["bench_seconds"] and all(s > 0 for s in report["bench_seconds"].values())
    assert (tmp_path / "executed" / "00_introduction.ipynb").exists()
    assert report["stages"]["warmup"]["items"]["digit classifier"]["result"].startswith(
        "classifier: ")
    assert "all_reduce ok" in report["stages"]["torchrun"]["items"]["process group gloo"]["result"]
    assert report["recorded"].startswith("not recorded")
    assert report["total_seconds"] <= report["limit_seconds"]
    for stage in STAGES:
        assert stage in run.stdout  # the summary table
    assert _benchmarks() == before


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_device_cuda_without_a_gpu_exits_2_with_a_clear_message(tmp_path):
    run = _gpu("--device", "cuda", "--out", str(tmp_path / "out"), timeout=120)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "no CUDA device" in run.stderr and "--device cpu" in run.stderr
    assert not (tmp_path / "out").exists()  # nothing ran, nothing was written

"""`import randcnn_fast` stays light: embedding needs neither scikit-learn nor matplotlib."""
from __future__ import annotations

import json
import subprocess
import sys

# Imported only when the classifiers, the report or extraction are used.
HEAVY = ("sklearn", "matplotlib", "scipy", "pandas", "pyarrow")
IMPORT_SECONDS = 0.3
SPAWNS = 5

PROBE = """
import json, sys, time
start = time.perf_counter()
import randcnn_fast
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "modules": sorted({m.split(".")[0] for m in sys.modules})}))
"""


def _spawn() -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout)


def test_import_is_fast_and_leaves_the_heavy_packages_alone():
    # The fastest of several fresh interpreters: a loaded machine slows some spawns, not all.
    runs = [_spawn() for _ in range(SPAWNS)]
    loaded = sorted(set(HEAVY) & set(runs[0]["modules"]))
    assert not loaded, f"import randcnn_fast imported {loaded}"
    fastest = min(run["seconds"] for run in runs)
    assert fastest < IMPORT_SECONDS, f"import randcnn_fast took {fastest:.3f} s at best"


def test_elm_classifier_is_imported_on_first_use():
    import randcnn_fast as rf
    from randcnn_fast.classifiers.elm import ELMClassifier

    assert rf.ELMClassifier is ELMClassifier

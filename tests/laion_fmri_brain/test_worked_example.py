"""The worked example of docs/laion_fmri.md, run verbatim on the sample: it prints what the
page shows, its NIfTI holds its R² map, and its R² equals a primal-form ridge fit made here."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from .conftest import brain_mask, roi_in_brain

DOC = Path(__file__).resolve().parents[2] / "docs" / "laion_fmri.md"


def worked_example() -> tuple[str, str]:
    """The code block after the marker, and the output block that follows it."""
    text = DOC.read_text(encoding="utf-8")
    after = text[text.index("<!-- worked-example -->"):]
    blocks = re.findall(r"```(\w*)\n(.*?)```", after, flags=re.S)
    assert blocks[0][0] == "python" and blocks[1][0] == ""
    return blocks[0][1], blocks[1][1].strip()


def test_worked_example_runs_and_prints_what_the_docs_show(brain, monkeypatch: pytest.MonkeyPatch,
                                                           tmp_path: Path) -> None:
    code, shown = worked_example()
    monkeypatch.setenv("LAION_FMRI_DATA_DIR", str(brain.root))
    monkeypatch.chdir(tmp_path)
    printed = io.StringIO()
    namespace: dict = {}
    with contextlib.redirect_stdout(printed), pytest.warns(UserWarning, match="ses-04"):
        exec(compile(code, str(DOC), "exec"), namespace)
    assert printed.getvalue().strip() == shown
    median_r2 = float(re.search(r"median R² ([\d.]+)", shown).group(1))
    assert median_r2 > 0.2
    image = nib.load(str(tmp_path / "sub-01_face_clip-r2.nii.gz"))
    flat = np.asarray(image.dataobj).ravel()
    face = roi_in_brain(brain.root, "sub-01", "face", "FFA1") | roi_in_brain(
        brain.root, "sub-01", "face", "OFA")
    positions = np.flatnonzero(brain_mask(brain.root, "sub-01"))[face]
    np.testing.assert_array_equal(flat[positions], namespace["r2_map"])
    assert np.count_nonzero(np.nan_to_num(flat, nan=1.0)) == face.sum()
    X, Y, held = (namespace[k].astype(np.float64) if k != "held_out" else namespace[k]
                  for k in ("X", "Y", "held_out"))
    Y = Y[:, namespace["usable"]]
    x_mean, y_mean = X[~held].mean(0), Y[~held].mean(0)
    Xc = X[~held] - x_mean
    primal = np.linalg.solve(Xc.T @ Xc + np.eye(X.shape[1]), Xc.T @ (Y[~held] - y_mean))
    predicted = (X[held] - x_mean) @ primal + y_mean
    truth = Y[held]
    r2 = 1 - ((truth - predicted) ** 2).sum(0) / ((truth - truth.mean(0)) ** 2).sum(0)
    np.testing.assert_allclose(namespace["r2"], r2, atol=1e-3)

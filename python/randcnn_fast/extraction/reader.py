"""Reading an extraction back: the embeddings written so far, with their metadata."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from .store import (CONFIG_FILE, ERRORS_DIR, HASH_KEY, MANIFEST_FILE, SHARD_KEY, SHARDS_DIR,
                    require_pandas, require_pyarrow)

__all__ = ["load_embeddings"]

def load_embeddings(out_dir, *, frames: bool = False):
    """The embeddings written so far in ``out_dir``, sorted by clip_id (and time).

    Parameters
    ----------
    out_dir : str or os.PathLike
        The output folder of :func:`~randcnn_fast.extraction.extract.extract`.
    frames : bool
        True to read a run of frame embeddings (``hop`` and ``window``); reading one kind of
        run as the other is an error.

    Returns
    -------
    X : numpy.ndarray
        float32 (n_rows, n_features).
    metadata : pandas.DataFrame
        clip_id, path, seconds (of the decoded clip), warning (None, or what decoding
        noticed), for frames the frame's centre ``time`` in seconds, and the manifest's extra
        columns, row k describing X[k]. Clips that failed, or whose shard is not written yet,
        are absent.

    Raises
    ------
    FileNotFoundError
        When ``out_dir`` holds no extraction.
    ValueError
        For a shard written by another configuration, or the wrong ``frames``.

    Examples
    --------
    >>> import numpy as np, soundfile
    >>> from pathlib import Path
    >>> from randcnn_fast.extraction.extract import extract
    >>> Path("clips").mkdir()
    >>> for i in range(3):
    ...     soundfile.write(f"clips/{i}.wav", np.zeros(12000, np.float32), 12000)
    >>> _ = extract("clips", "embeddings", arch="vgg", size="small", progress=False)
    >>> X, metadata = load_embeddings("embeddings")
    >>> X.shape, metadata["clip_id"].tolist()
    ((3, 160), [0, 1, 2])
    """
    pa, pq = require_pyarrow()
    pd = require_pandas()
    out = Path(os.fspath(out_dir))
    config_path = out / CONFIG_FILE
    if not config_path.is_file():
        raise FileNotFoundError(f"{config_path} not found: {out} holds no extraction")
    stored = json.loads(config_path.read_text())
    config, digest = stored["config"], stored["config_hash"]
    n_features = config["n_features"]
    if frames != ("frames" in config):
        kind = "frame" if "frames" in config else "clip"
        raise ValueError(f"{out} holds {kind} embeddings; pass frames={kind == 'frame'}")
    columns = ["clip_id", "path", "seconds", "warning"] + (["time"] if frames else [])
    tables = []
    for path in sorted((out / SHARDS_DIR).glob("part-*.parquet")):
        index = int(path.name[len("part-"):-len(".parquet")])
        if not (out / ERRORS_DIR / path.name).is_file():
            continue  # not complete (its errors part was removed): not counted as done
        table = pq.read_table(path)
        found = (table.schema.metadata or {}).get(HASH_KEY, b"").decode()
        if found != digest:
            raise ValueError(f"{path} was written by another configuration ({found[:12]!r}, "
                             f"{CONFIG_FILE} has {digest[:12]!r})")
        if (table.schema.metadata or {}).get(SHARD_KEY) != str(index).encode():
            raise ValueError(f"{path} does not hold shard {index}")
        tables.append(table)
    if tables:
        table = pa.concat_tables(tables).sort_by([(c, "ascending") for c in columns
                                                  if c in ("clip_id", "time")])
        vectors = table.column("embedding").combine_chunks()
        X = vectors.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
        X = np.ascontiguousarray(X.reshape(-1, n_features))
        meta = table.select(columns).to_pandas()
    else:
        X = np.zeros((0, n_features), np.float32)
        meta = pd.DataFrame({"clip_id": pd.Series([], dtype="int64"),
                             "path": pd.Series([], dtype="object"),
                             "seconds": pd.Series([], dtype="float64"),
                             "warning": pd.Series([], dtype="object"),
                             **({"time": pd.Series([], dtype="float64")} if frames else {})})
    if meta[["clip_id", "time"] if frames else ["clip_id"]].duplicated().any():
        raise ValueError(f"{out}: a clip_id appears in more than one shard")
    manifest = pq.read_table(out / MANIFEST_FILE).to_pandas()
    extra = [c for c in manifest.columns if c not in ("clip_id", "path")]
    if extra:
        meta = meta.merge(manifest[["clip_id", *extra]], on="clip_id", how="left", sort=False)
    return X, meta.reset_index(drop=True)


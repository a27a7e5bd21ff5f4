"""A coded gallery in Milvus: ingest, then search with queries, ranked as ``naicfc reid`` ranks.

Each gallery item is stored as its search vector (``naicfc.search_vectors``): the model's
coefficients and two more values, whose inner product with a query's vector is the cosine
between the reconstructed query and the item. The collection uses the inner-product metric
and needs no custom code on the server. The same calls work with Milvus Lite (a local file
URI, ``pip install pymilvus milvus-lite``) and with a Milvus cluster (``http://host:19530``)::

    from pymilvus import MilvusClient
    import naicfc, naicfc.milvus as nm

    client = MilvusClient("gallery.db")                      # or a cluster's URI
    nm.create_collection(client, "gallery", model)           # FLAT; index="IVF_FLAT" for IVF
    nm.ingest(client, "gallery", model, names, codes)        # codes (N, B) or features (N, D)
    names, scores = nm.search(client, "gallery", model, query_codes, k=100)

The model's fingerprint is kept as the collection's property ``naicfc.model``: ingesting into or searching
a collection made with another model raises ``naicfc.ModelError`` naming both fingerprints
(vectors of two models are not comparable, and the results would be wrong without a sign).
"""

from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import Error, InputError, Model, ModelError, search_vectors

__all__ = ["create_collection", "ingest", "search", "MODEL_PROPERTY", "NAME_FIELD",
           "VECTOR_FIELD"]

NAME_FIELD = "name"
"""The primary key: the item's name (a VARCHAR of at most ``MAX_NAME`` bytes)."""
VECTOR_FIELD = "vector"
"""The search vector (FLOAT_VECTOR of the model's ``K + 2`` values)."""
MAX_NAME = 512
MODEL_PROPERTY = "naicfc.model"
"""The collection property holding the fingerprint of the model its vectors were made with."""

# Milvus refuses an insert or a search request above its message size (64 MiB by default):
# rows are sent in batches far below it (5,000 x 300 floats is 6 MB).
_BATCH = 5000


def _check_model(client: Any, collection: str, model: Model) -> None:
    """Raise ModelError unless `collection` was made for `model`."""
    properties = client.describe_collection(collection).get("properties") or {}
    theirs = properties.get(MODEL_PROPERTY)
    if theirs is None:
        raise ModelError(f"collection {collection!r} has no property {MODEL_PROPERTY} "
                         "(it was not made by naicfc.milvus.create_collection)")
    if theirs != model.fingerprint:
        raise ModelError(f"collection {collection!r} holds vectors of model {theirs}, "
                         f"not of this model {model.fingerprint}")


def create_collection(client: Any, collection: str, model: Model, *, index: str = "FLAT",
                      params: Optional[Dict[str, Any]] = None, drop: bool = False) -> None:
    """Create `collection` for `model`'s search vectors: the item name as primary key, the
    vector with an inner-product index of type `index` (``FLAT`` for exact search,
    ``IVF_FLAT`` with ``params={"nlist": ...}``, or any type the server offers). With `drop`,
    an existing collection of that name is dropped first; otherwise it is an error."""
    from pymilvus import DataType, MilvusClient

    if client.has_collection(collection):
        if not drop:
            raise InputError(f"collection {collection!r} exists (drop=True replaces it)")
        client.drop_collection(collection)
    width = search_vectors(model, np.zeros((1, model.dim), np.float32)).shape[1]
    schema = MilvusClient.create_schema(auto_id=False)
    schema.add_field(NAME_FIELD, DataType.VARCHAR, is_primary=True, max_length=MAX_NAME)
    schema.add_field(VECTOR_FIELD, DataType.FLOAT_VECTOR, dim=width)
    index_params = client.prepare_index_params()
    index_params.add_index(VECTOR_FIELD, index_type=index, metric_type="IP",
                           params=dict(params or {}))
    client.create_collection(collection, schema=schema, index_params=index_params,
                             properties={MODEL_PROPERTY: model.fingerprint})


def ingest(client: Any, collection: str, model: Model, names: Sequence[str], x,
           *, batch: int = _BATCH, threads: Optional[int] = None) -> int:
    """Insert gallery items: `names` (unique, one per row) and `x`, either uint8 codes
    (N, B) as cameras send them or original float features (N, D). Rows are turned into
    search vectors and inserted `batch` at a time; returns the number of rows inserted. A bad
    row (a damaged code, a NaN) raises before anything of its batch is sent."""
    _check_model(client, collection, model)
    x = np.asarray(x)
    names = [str(n) for n in names]
    if len(names) != len(x):
        raise InputError(f"{len(names)} names for {len(x)} rows")
    for n in names:
        if not n or len(n.encode()) > MAX_NAME:
            raise InputError(f"name {n!r}: names are 1 to {MAX_NAME} bytes")
    if len(set(names)) != len(names):
        raise InputError("names are not unique: the primary key would keep only one row")
    inserted = 0
    for start in range(0, len(names), max(1, batch)):
        part = x[start:start + batch]
        try:
            v = search_vectors(model, part, threads=threads)
        except Error as e:
            if e.row is None:
                raise
            # The row inside the batch, renamed to the row of `x` and its name.
            row = start + e.row
            detail = str(e).split(": ", 1)[-1]
            raise type(e)(f"row {row} ({names[row]!r}): {detail}", row) from e
        rows = [{NAME_FIELD: n, VECTOR_FIELD: r} for n, r in zip(names[start:start + batch], v)]
        inserted += client.insert(collection, rows)["insert_count"]
    return inserted


def search(client: Any, collection: str, model: Model, queries, *, budget: Optional[int] = None,
           k: int = 100, params: Optional[Dict[str, Any]] = None, batch: int = 1000,
           threads: Optional[int] = None) -> Tuple[List[List[str]], np.ndarray]:
    """The best `k` gallery items for every query: `queries` are uint8 codes (N, B), or
    float features (N, D) coded at `budget` bytes first. Returns the names, best first (one
    list per query), and their scores, float32 (N, k): cosines with the reconstructed query,
    NaN where the collection has fewer than `k` items. `params` are the index's search
    parameters (``{"nprobe": 16}`` for IVF)."""
    _check_model(client, collection, model)
    client.load_collection(collection)
    q = search_vectors(model, queries, "query", budget, threads=threads)
    q = np.atleast_2d(q)
    names: List[List[str]] = []
    scores = np.full((len(q), k), np.nan, np.float32)
    request = {"metric_type": "IP", "params": dict(params or {})}
    for start in range(0, len(q), max(1, batch)):
        hits = client.search(collection, data=list(q[start:start + batch]), limit=k,
                             search_params=request, anns_field=VECTOR_FIELD,
                             output_fields=[NAME_FIELD])
        for i, row in enumerate(hits):
            # The primary key is the hit's "id" or, in newer clients, its field name.
            names.append([h[NAME_FIELD] if NAME_FIELD in h else h["id"] for h in row])
            scores[start + i, :len(row)] = [h["distance"] for h in row]
    return names, scores

"""A Qdrant-compatible REST endpoint on loopback for dqe's tests, answered by Qdrant's own engine.

No Qdrant server binary can be installed where dqe's tests run, so this serves the few REST endpoints
dqe's Qdrant adapter (and @qdrant/js-client-rest itself) calls. Request bodies are parsed by
Qdrant's own pydantic models (`qdrant_client.http.models`, which forbid unknown fields as the server
does) and answered by Qdrant Edge (`qdrant_edge`, PyPI `qdrant-edge-py`): Qdrant's Rust shard engine
in-process (segments, the optimizer that builds HNSW indexes, payload indexes, filters, the query
planner), one EdgeShard per collection in a temporary directory. Replies use Qdrant's envelope
`{"result", "status": "ok", "time"}` and its error shape `{"status": {"error"}}` with the server's
status codes. Anything else answers 404, like an unknown route on a real server.

Like the server's background optimizer, the shim optimizes a collection (merging segments and building
its HNSW index once a segment passes the indexing threshold) before the first query after a write, so
searches run on HNSW-indexed segments. The thresholds default far below the server's (10 000 KB /
20 000 KB) so that test-sized collections are indexed too.

Usage: server.py [PORT] [--api-key KEY] [--indexing-threshold-kb N] [--full-scan-threshold-kb N]
(PORT 0 or absent: pick a free port.) Prints `listening 127.0.0.1:PORT` on stdout once it accepts
connections.

Test-only extras: `POST /__shim/faults {"status": 503, "count": 2, "retry_after": 1}` makes the next
`count` Qdrant requests fail with that status (to exercise the adapter's retries); `GET /__shim/stats`
answers the engine's name and how many nearest-neighbour queries ran with every point of their
collection in an HNSW-indexed segment (`indexed_queries`) or not (`unindexed_queries`).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import version
from typing import Any, Callable
from urllib.parse import unquote, urlsplit

import pydantic
import qdrant_edge as edge
from qdrant_client.http import models

LOOPBACK = "127.0.0.1"
# Real Qdrant refuses bodies over 32 MiB by default (service.max_request_size_mb).
MAX_BODY_BYTES = 32 * 1024 * 1024
# The server's HNSW defaults (m, ef_construct): the shim changes only the two size thresholds.
HNSW_M = 16
HNSW_EF_CONSTRUCT = 100
# Edge's smallest indexing threshold (KB of vectors in a segment); 0 would switch indexing off.
DEFAULT_INDEXING_THRESHOLD_KB = 1
# Below this many KB of vectors matching a filter the planner scans instead of walking HNSW.
DEFAULT_FULL_SCAN_THRESHOLD_KB = 1
# Answered by GET /: the qdrant-client version the shim parses with, within one minor version of
# @qdrant/js-client-rest, so the JS client's compatibility check stays quiet.
CLIENT_VERSION = version("qdrant-client")
ENGINE = f"qdrant-edge-py {version('qdrant-edge-py')}"

_point_ops = pydantic.TypeAdapter(models.PointInsertOperations)
_points_selector = pydantic.TypeAdapter(models.PointsSelector)

_DISTANCES = {
    models.Distance.COSINE: edge.Distance.Cosine,
    models.Distance.EUCLID: edge.Distance.Euclid,
    models.Distance.DOT: edge.Distance.Dot,
    models.Distance.MANHATTAN: edge.Distance.Manhattan,
}
_SCHEMAS = {
    models.PayloadSchemaType.KEYWORD: edge.PayloadSchemaType.Keyword,
    models.PayloadSchemaType.INTEGER: edge.PayloadSchemaType.Integer,
    models.PayloadSchemaType.FLOAT: edge.PayloadSchemaType.Float,
    models.PayloadSchemaType.GEO: edge.PayloadSchemaType.Geo,
    models.PayloadSchemaType.TEXT: edge.PayloadSchemaType.Text,
    models.PayloadSchemaType.BOOL: edge.PayloadSchemaType.Bool,
    models.PayloadSchemaType.DATETIME: edge.PayloadSchemaType.Datetime,
    models.PayloadSchemaType.UUID: edge.PayloadSchemaType.Uuid,
}
_SCHEMA_NAMES = {v: k for k, v in _SCHEMAS.items()}


class QdrantError(Exception):
    """An error answered with Qdrant's status code and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def not_found(name: str) -> QdrantError:
    return QdrantError(404, f"Not found: Collection `{name}` doesn't exist!")


def unsupported(what: str) -> QdrantError:
    """A request Qdrant accepts but this shim does not translate (dqe's adapter never sends it)."""
    return QdrantError(400, f"Wrong input: {what} is not served by qdrant-shim's edge engine")


# ---- request translation: qdrant_client's REST models -> qdrant_edge's ------------------------------


def json_id(point_id: Any) -> Any:
    return point_id if isinstance(point_id, int) else str(point_id)


def edge_filter(f: models.Filter | None) -> edge.Filter | None:
    if f is None:
        return None

    def many(conds: Any) -> list[Any] | None:
        if conds is None:
            return None
        return [edge_condition(c) for c in (conds if isinstance(conds, list) else [conds])]

    min_should = None
    if f.min_should is not None:
        min_should = edge.MinShould(many(f.min_should.conditions) or [], f.min_should.min_count)
    return edge.Filter(must=many(f.must), should=many(f.should), must_not=many(f.must_not), min_should=min_should)


def edge_match(m: Any) -> Any:
    if isinstance(m, models.MatchValue):
        return edge.MatchValue(m.value)
    if isinstance(m, models.MatchAny):
        return edge.MatchAny(m.any)
    if isinstance(m, models.MatchExcept):
        return edge.MatchExcept(m.except_)
    if isinstance(m, models.MatchText):
        return edge.MatchText(m.text)
    raise unsupported(f"match {type(m).__name__}")


def edge_condition(c: Any) -> Any:
    if isinstance(c, models.Filter):
        return edge_filter(c)
    if isinstance(c, models.HasIdCondition):
        return edge.HasIdCondition({i for i in c.has_id})
    if isinstance(c, models.IsEmptyCondition):
        return edge.IsEmptyCondition(c.is_empty.key)
    if isinstance(c, models.IsNullCondition):
        return edge.IsNullCondition(c.is_null.key)
    if isinstance(c, models.HasVectorCondition):
        return edge.HasVectorCondition(c.has_vector)
    if isinstance(c, models.NestedCondition):
        return edge.NestedCondition(c.nested.key, edge_filter(c.nested.filter))
    if isinstance(c, models.FieldCondition):
        if c.geo_bounding_box or c.geo_radius or c.geo_polygon:
            raise unsupported("a geo condition")
        rng = None
        if c.range is not None:
            if not isinstance(c.range, models.Range):
                raise unsupported("a datetime range")
            rng = edge.RangeFloat(gte=c.range.gte, gt=c.range.gt, lte=c.range.lte, lt=c.range.lt)
        counts = None
        if c.values_count is not None:
            v = c.values_count
            counts = edge.ValuesCount(lt=v.lt, gt=v.gt, lte=v.lte, gte=v.gte)
        return edge.FieldCondition(
            c.key,
            match=edge_match(c.match) if c.match is not None else None,
            range=rng,
            values_count=counts,
            is_empty=c.is_empty,
            is_null=c.is_null,
        )
    raise unsupported(f"condition {type(c).__name__}")


def edge_with_payload(w: Any, default: bool) -> Any:
    if w is None:
        return default
    if isinstance(w, models.PayloadSelectorInclude):
        return edge.PayloadSelector.Include(w.include)
    if isinstance(w, models.PayloadSelectorExclude):
        return edge.PayloadSelector.Exclude(w.exclude)
    return w


def edge_search_params(p: models.SearchParams | None) -> edge.SearchParams | None:
    if p is None:
        return None
    if p.quantization is not None or p.acorn is not None:
        raise unsupported("quantization or acorn search params")
    return edge.SearchParams(hnsw_ef=p.hnsw_ef, exact=bool(p.exact), indexed_only=bool(p.indexed_only))


def rest_vector(v: Any) -> Any:
    if v is None or isinstance(v, list):
        return v
    if isinstance(v, dict):
        return {k: rest_vector(x) for k, x in v.items()}
    raise unsupported(f"vector of type {type(v).__name__}")


# ---- the engine ------------------------------------------------------------------------------------


@dataclass
class Collection:
    shard: edge.EdgeShard
    path: str
    vectors: Any  # the VectorParams (or named dict) it was created with, for GET /collections/{name}
    hnsw: models.HnswConfig
    optimizer: models.OptimizersConfig
    # Written since the last optimize: the next query optimizes first, as the server's optimizer would.
    dirty: bool = False


class Engine:
    """Qdrant Edge shards, one per collection, behind one lock (requests change the name table)."""

    def __init__(self, root: str, indexing_threshold_kb: int, full_scan_threshold_kb: int) -> None:
        self.root = root
        self.indexing_threshold_kb = indexing_threshold_kb
        self.full_scan_threshold_kb = full_scan_threshold_kb
        self.collections: dict[str, Collection] = {}
        self.created = 0
        self.lock = threading.Lock()
        self.faults: list[tuple[int, float | None]] = []
        self.indexed_queries = 0
        self.unindexed_queries = 0

    def existing(self, name: str) -> Collection:
        found = self.collections.get(name)
        if found is None:
            raise not_found(name)
        return found

    def close(self) -> None:
        for c in self.collections.values():
            c.shard.close()
        self.collections.clear()

    # ---- handlers: (collection name, parsed JSON body or None) -> result --------------------------

    def list_collections(self, _name: str, _body: Any) -> Any:
        return models.CollectionsResponse(collections=[models.CollectionDescription(name=n) for n in self.collections])

    def collection_exists(self, name: str, _body: Any) -> Any:
        return models.CollectionExistence(exists=name in self.collections)

    def get_collection(self, name: str, _body: Any) -> Any:
        c = self.existing(name)
        info = c.shard.info()
        schema = {
            field: models.PayloadIndexInfo(data_type=_SCHEMA_NAMES[i.data_type], points=i.points)
            for field, i in info.payload_schema.items()
        }
        return models.CollectionInfo(
            status=models.CollectionStatus.GREEN,
            optimizer_status=models.OptimizersStatusOneOf.OK,
            indexed_vectors_count=info.indexed_vectors_count,
            points_count=info.points_count,
            segments_count=info.segments_count,
            config=models.CollectionConfig(
                params=models.CollectionParams(vectors=c.vectors),
                hnsw_config=c.hnsw,
                optimizer_config=c.optimizer,
            ),
            payload_schema=schema,
        )

    def create_collection(self, name: str, body: Any) -> Any:
        req = models.CreateCollection.model_validate(body or {})
        if name in self.collections:
            raise QdrantError(409, f"Wrong input: Collection `{name}` already exists!")
        if req.sparse_vectors or req.quantization_config or req.sharding_method:
            raise unsupported("sparse vectors, quantization or sharding")
        diff = req.hnsw_config or models.HnswConfigDiff()
        hnsw = models.HnswConfig(
            m=diff.m if diff.m is not None else HNSW_M,
            ef_construct=diff.ef_construct if diff.ef_construct is not None else HNSW_EF_CONSTRUCT,
            full_scan_threshold=diff.full_scan_threshold if diff.full_scan_threshold is not None else self.full_scan_threshold_kb,
            max_indexing_threads=diff.max_indexing_threads or 0,
            payload_m=diff.payload_m,
        )
        opt = req.optimizers_config or models.OptimizersConfigDiff()
        optimizer = models.OptimizersConfig(
            default_segment_number=opt.default_segment_number or 0,
            indexing_threshold=opt.indexing_threshold if opt.indexing_threshold is not None else self.indexing_threshold_kb,
            flush_interval_sec=5,
        )

        def params(v: models.VectorParams) -> edge.EdgeVectorParams:
            if v.multivector_config is not None or v.quantization_config is not None:
                raise unsupported("multivectors or per-vector quantization")
            return edge.EdgeVectorParams(size=v.size, distance=_DISTANCES[v.distance])

        if req.vectors is None:
            raise QdrantError(400, "Wrong input: vectors config is required")
        vectors = params(req.vectors) if isinstance(req.vectors, models.VectorParams) else {k: params(v) for k, v in req.vectors.items()}
        self.created += 1
        path = f"{self.root}/{self.created}"
        config = edge.EdgeConfig(
            vectors=vectors,
            hnsw_config=edge.HnswIndexConfig(
                m=hnsw.m, ef_construct=hnsw.ef_construct, full_scan_threshold=hnsw.full_scan_threshold,
                max_indexing_threads=hnsw.max_indexing_threads or 0, payload_m=hnsw.payload_m,
            ),
            optimizers=edge.EdgeOptimizersConfig(
                indexing_threshold=optimizer.indexing_threshold, default_segment_number=optimizer.default_segment_number,
            ),
            # The shard lives only as long as this process: a write-ahead log would buy nothing.
            wal_enabled=False,
        )
        self.collections[name] = Collection(edge.EdgeShard.create(path, config), path, req.vectors, hnsw, optimizer)
        return True

    def delete_collection(self, name: str, _body: Any) -> Any:
        # Qdrant's delete is idempotent: a missing collection answers `false`, not an error.
        c = self.collections.pop(name, None)
        if c is None:
            return False
        c.shard.close()
        shutil.rmtree(c.path, ignore_errors=True)
        return True

    def create_field_index(self, name: str, body: Any) -> Any:
        req = models.CreateFieldIndex.model_validate(body or {})
        c = self.existing(name)
        schema = req.field_schema
        if isinstance(schema, models.PayloadSchemaType):
            edge_schema: Any = _SCHEMAS[schema]
        elif isinstance(schema, models.KeywordIndexParams):
            edge_schema = edge.KeywordIndexParams(is_tenant=schema.is_tenant)
        else:
            raise unsupported(f"payload index schema {schema!r}")
        c.shard.update(edge.UpdateOperation.create_field_index(req.field_name, edge_schema))
        return self.completed(c)

    def upsert_points(self, name: str, body: Any) -> Any:
        req = _point_ops.validate_python(body or {})
        c = self.existing(name)
        if isinstance(req, models.PointsBatch):
            b = req.batch
            if not isinstance(b.vectors, list):
                raise unsupported("named vectors in a batch")
            if len(b.vectors) != len(b.ids):
                raise QdrantError(400, "Wrong input: number of ids and vectors must be equal")
            payloads = b.payloads or [None] * len(b.ids)
            points = [edge.Point(i, rest_vector(v), p) for i, v, p in zip(b.ids, b.vectors, payloads)]
        else:
            points = [edge.Point(p.id, rest_vector(p.vector), p.payload) for p in req.points]
        c.shard.update(edge.UpdateOperation.upsert_points(points))
        c.dirty = True
        return self.completed(c)

    def delete_points(self, name: str, body: Any) -> Any:
        selector = _points_selector.validate_python(body or {})
        c = self.existing(name)
        if isinstance(selector, models.PointIdsList):
            c.shard.update(edge.UpdateOperation.delete_points([i for i in selector.points]))
        else:
            c.shard.update(edge.UpdateOperation.delete_points_by_filter(edge_filter(selector.filter)))
        c.dirty = True
        return self.completed(c)

    def completed(self, _c: Collection) -> models.UpdateResult:
        # The shim applies every update before it answers, as the server does with wait=true.
        return models.UpdateResult(operation_id=0, status=models.UpdateStatus.COMPLETED)

    def count_points(self, name: str, body: Any) -> Any:
        req = models.CountRequest.model_validate(body or {})
        c = self.existing(name)
        exact = req.exact if req.exact is not None else True
        return models.CountResult(count=c.shard.count(edge.CountRequest(exact=exact, filter=edge_filter(req.filter))))

    def scroll_points(self, name: str, body: Any) -> Any:
        req = models.ScrollRequest.model_validate(body or {})
        c = self.existing(name)
        if req.order_by is not None:
            raise unsupported("scroll order_by")
        records, next_offset = c.shard.scroll(
            edge.ScrollRequest(
                offset=req.offset if req.offset is not None else None,
                limit=req.limit if req.limit is not None else 10,
                filter=edge_filter(req.filter),
                with_payload=edge_with_payload(req.with_payload, True),
                with_vector=req.with_vector if req.with_vector is not None else False,
            )
        )
        points = [self.record(r) for r in records]
        return models.ScrollResult(points=points, next_page_offset=json_id(next_offset) if next_offset is not None else None)

    def record(self, r: Any) -> models.Record:
        return models.Record(id=json_id(r.id), payload=r.payload, vector=rest_vector(r.vector))

    def retrieve_points(self, name: str, body: Any) -> Any:
        req = models.PointRequest.model_validate(body or {})
        c = self.existing(name)
        records = c.shard.retrieve(
            [i for i in req.ids],
            with_payload=edge_with_payload(req.with_payload, True),
            with_vector=req.with_vector if req.with_vector is not None else False,
        )
        return [self.record(r) for r in records]

    def query_batch_points(self, name: str, body: Any) -> Any:
        req = models.QueryRequestBatch.model_validate(body or {})
        c = self.existing(name)
        if c.dirty:
            c.shard.optimize()
            c.dirty = False
        info = c.shard.info()
        all_indexed = info.points_count > 0 and info.indexed_vectors_count >= info.points_count
        queries = [self.edge_query(q) for q in req.searches]
        results = c.shard.query_batch(edge.QueryBatchRequest(queries))
        for q in req.searches:
            exact = q.params is not None and bool(q.params.exact)
            if all_indexed and not exact:
                self.indexed_queries += 1
            else:
                self.unindexed_queries += 1
        return [
            models.QueryResponse(
                points=[
                    models.ScoredPoint(id=json_id(p.id), version=p.version, score=p.score, payload=p.payload, vector=rest_vector(p.vector))
                    for p in points
                ]
            )
            for points in results
        ]

    def edge_query(self, q: models.QueryRequest) -> edge.QueryRequest:
        if q.prefetch or q.lookup_from or q.shard_key is not None:
            raise unsupported("prefetch, lookup_from or shard_key")
        query = q.query.nearest if isinstance(q.query, models.NearestQuery) else q.query
        if not isinstance(query, list):
            raise unsupported(f"query {type(q.query).__name__}")
        return edge.QueryRequest(
            limit=q.limit if q.limit is not None else 10,
            offset=q.offset,
            query=edge.Query.Nearest(query, using=q.using),
            filter=edge_filter(q.filter),
            with_payload=edge_with_payload(q.with_payload, False),
            with_vector=q.with_vector if q.with_vector is not None else False,
            score_threshold=q.score_threshold,
            params=edge_search_params(q.params),
        )

    def stats(self) -> dict[str, Any]:
        return {"engine": ENGINE, "indexed_queries": self.indexed_queries, "unindexed_queries": self.unindexed_queries}


COLLECTION = r"/collections/(?P<name>[^/]+)"
Handler = Callable[[Engine, str, Any], Any]
ROUTES: list[tuple[str, re.Pattern[str], Handler]] = [
    ("GET", re.compile(r"/collections(?P<name>)"), Engine.list_collections),
    ("GET", re.compile(COLLECTION + r"/exists"), Engine.collection_exists),
    ("GET", re.compile(COLLECTION), Engine.get_collection),
    ("PUT", re.compile(COLLECTION), Engine.create_collection),
    ("DELETE", re.compile(COLLECTION), Engine.delete_collection),
    ("PUT", re.compile(COLLECTION + r"/index"), Engine.create_field_index),
    ("PUT", re.compile(COLLECTION + r"/points"), Engine.upsert_points),
    ("POST", re.compile(COLLECTION + r"/points"), Engine.retrieve_points),
    ("POST", re.compile(COLLECTION + r"/points/delete"), Engine.delete_points),
    ("POST", re.compile(COLLECTION + r"/points/count"), Engine.count_points),
    ("POST", re.compile(COLLECTION + r"/points/scroll"), Engine.scroll_points),
    ("POST", re.compile(COLLECTION + r"/points/query/batch"), Engine.query_batch_points),
]


def to_json(value: Any) -> Any:
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [to_json(v) for v in value]
    return value


class RequestHandler(BaseHTTPRequestHandler):
    # Keep-alive, as @qdrant/js-client-rest's undici agent expects; every reply has a Content-Length.
    protocol_version = "HTTP/1.1"
    server_version = "qdrant-shim"
    engine: Engine
    api_key: str | None

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        pass  # quiet: the tests read stdout for the ready line only

    def do_GET(self) -> None:
        self.dispatch("GET")

    def do_PUT(self) -> None:
        self.dispatch("PUT")

    def do_POST(self) -> None:
        self.dispatch("POST")

    def do_DELETE(self) -> None:
        self.dispatch("DELETE")

    def do_PATCH(self) -> None:
        self.dispatch("PATCH")

    def reply(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload, allow_nan=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json" if not isinstance(payload, bytes) else "text/plain")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def error(self, status: int, message: str, started: float, headers: dict[str, str] | None = None) -> None:
        self.reply(status, {"status": {"error": message}, "time": time.perf_counter() - started}, headers)

    def read_body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise QdrantError(413, f"Payload too large: {length} bytes, limit {MAX_BODY_BYTES}")
        raw = self.rfile.read(length) if length else b""
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except json.JSONDecodeError as err:
            raise QdrantError(400, f"Format error in JSON body: {err}") from err

    def authorised(self) -> bool:
        if self.api_key is None:
            return True
        bearer = self.headers.get("Authorization", "")
        return self.headers.get("api-key") == self.api_key or bearer == f"Bearer {self.api_key}"

    def dispatch(self, method: str) -> None:
        started = time.perf_counter()
        path = urlsplit(self.path).path.rstrip("/") or "/"
        try:
            body = self.read_body() if method in ("PUT", "POST", "DELETE", "PATCH") else None
        except QdrantError as err:
            self.error(err.status, err.message, started)
            return
        if path in ("/healthz", "/livez", "/readyz"):
            self.reply(200, f"{path[1:]} check passed".encode())
            return
        if method == "POST" and path == "/__shim/faults":
            spec = body or {}
            with self.engine.lock:
                retry_after = spec.get("retry_after")
                self.engine.faults = [(int(spec["status"]), retry_after)] * int(spec.get("count", 1))
            self.reply(200, {"result": True, "status": "ok", "time": 0})
            return
        if method == "GET" and path == "/__shim/stats":
            with self.engine.lock:
                stats = self.engine.stats()
            self.reply(200, {"result": stats, "status": "ok", "time": 0})
            return
        if not self.authorised():
            self.error(401, "Must provide an API key or an Authorization bearer token", started)
            return
        # Before the injected faults: the JS client calls it on its own at construction time.
        if method == "GET" and path == "/":
            info = models.VersionInfo(title="qdrant - vector search engine", version=CLIENT_VERSION)
            # The root answers VersionInfo itself, without the envelope, as the server does.
            self.reply(200, info.model_dump(mode="json"))
            return
        with self.engine.lock:
            fault = self.engine.faults.pop(0) if self.engine.faults else None
        if fault is not None:
            status, retry_after = fault
            extra = {"Retry-After": str(retry_after)} if retry_after is not None else None
            self.error(status, f"{HTTPStatus(status).phrase} (injected by qdrant-shim)", started, extra)
            return
        for route_method, pattern, handler in ROUTES:
            match = pattern.fullmatch(path)
            if match is None or route_method != method:
                continue
            name = unquote(match.group("name"))
            try:
                with self.engine.lock:
                    result = handler(self.engine, name, body)
                self.reply(200, {"result": to_json(result), "status": "ok", "time": time.perf_counter() - started})
            except QdrantError as err:
                self.error(err.status, err.message, started)
            except pydantic.ValidationError as err:
                self.error(400, f"Format error in JSON body: {err}", started)
            except ValueError as err:
                message = str(err)
                if "not found" in message.lower():
                    self.error(404, f"Not found: {message}", started)
                else:
                    self.error(400, message if message.startswith("Wrong input") else f"Wrong input: {message}", started)
            except Exception as err:  # noqa: BLE001
                if type(err) is Exception:
                    # qdrant_edge raises plain Exceptions carrying the engine's own message for what the
                    # server answers 400 (e.g. "Vector dimension error: expected dim: 4, got 3").
                    self.error(400, f"Wrong input: {err}", started)
                    return
                # Anything else is a failure of the shim or the engine: the server's 500.
                self.error(500, f"Service internal error: {type(err).__name__}: {err}", started)
            return
        self.error(404, f"Not found: no route {method} {path} in qdrant-shim", started)


def stop_on_sigterm(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("port", nargs="?", type=int, default=0, help="port on 127.0.0.1; 0 picks a free one")
    parser.add_argument("--api-key", default=None, help="require this key in the api-key header")
    parser.add_argument("--indexing-threshold-kb", type=int, default=DEFAULT_INDEXING_THRESHOLD_KB,
                        help="a segment with more KB of vectors gets an HNSW index (the server's default: 20000)")
    parser.add_argument("--full-scan-threshold-kb", type=int, default=DEFAULT_FULL_SCAN_THRESHOLD_KB,
                        help="filtered searches over fewer KB of vectors scan (the server's default: 10000)")
    args = parser.parse_args()

    root = tempfile.mkdtemp(prefix="qdrant-shim-")
    engine = Engine(root, args.indexing_threshold_kb, args.full_scan_threshold_kb)
    RequestHandler.engine = engine
    RequestHandler.api_key = args.api_key
    server = ThreadingHTTPServer((LOOPBACK, args.port), RequestHandler)
    server.daemon_threads = True
    # SIGTERM (how start.ts stops it) ends serve_forever like Ctrl-C, so the shards' files are removed.
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    print(f"listening {LOOPBACK}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        with engine.lock:
            engine.close()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

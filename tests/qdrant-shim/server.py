"""A Qdrant-compatible REST endpoint on loopback for dqe's tests, answered by Qdrant's own local engine.

No Qdrant server binary can be installed where dqe's tests run, so this serves the few REST endpoints
dqe's Qdrant adapter (and @qdrant/js-client-rest itself) calls. Request bodies are parsed by
Qdrant's own pydantic models (`qdrant_client.http.models`, which forbid unknown fields as the server
does) and answered by `QdrantClient(location=':memory:')`, the Python client's local mode. Replies use
Qdrant's envelope `{"result", "status": "ok", "time"}` and its error shape `{"status": {"error"}}` with
the server's status codes. Anything else answers 404, like an unknown route on a real server.

Usage: server.py [PORT] [--api-key KEY]    (PORT 0 or absent: pick a free port)
Prints `listening 127.0.0.1:PORT` on stdout once it accepts connections.

Test-only extra: `POST /__shim/faults {"status": 503, "count": 2, "retry_after": 1}` makes the next
`count` Qdrant requests fail with that status (to exercise the adapter's retries).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import threading
import time
import warnings
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import unquote, urlsplit

import pydantic
from qdrant_client import QdrantClient
from qdrant_client.http import models

LOOPBACK = "127.0.0.1"
# Real Qdrant refuses bodies over 32 MiB by default (service.max_request_size_mb).
MAX_BODY_BYTES = 32 * 1024 * 1024

# Local mode warns that it ignores payload indexes and search params; both are expected here.
warnings.filterwarnings("ignore", message="Payload indexes have no effect in the local Qdrant")
warnings.filterwarnings("ignore", message="Local mode performs exact")

_point_ops = pydantic.TypeAdapter(models.PointInsertOperations)
_points_selector = pydantic.TypeAdapter(models.PointsSelector)


class QdrantError(Exception):
    """An error answered with Qdrant's status code and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def not_found(name: str) -> QdrantError:
    return QdrantError(404, f"Not found: Collection `{name}` doesn't exist!")


class Engine:
    """Qdrant's local engine behind one lock: local mode is not safe to call from several threads."""

    def __init__(self) -> None:
        self.client = QdrantClient(location=":memory:")
        self.lock = threading.Lock()
        self.faults: list[tuple[int, float | None]] = []

    def existing(self, name: str) -> None:
        if not self.client.collection_exists(name):
            raise not_found(name)

    # ---- handlers: (collection name, parsed JSON body or None) -> result --------------------------

    def list_collections(self, _name: str, _body: Any) -> Any:
        return self.client.get_collections()

    def collection_exists(self, name: str, _body: Any) -> Any:
        return models.CollectionExistence(exists=self.client.collection_exists(name))

    def get_collection(self, name: str, _body: Any) -> Any:
        self.existing(name)
        return self.client.get_collection(name)

    def create_collection(self, name: str, body: Any) -> Any:
        req = models.CreateCollection.model_validate(body or {})
        if self.client.collection_exists(name):
            raise QdrantError(409, f"Wrong input: Collection `{name}` already exists!")
        # Local mode keeps only what its exact search needs (vectors, sparse vectors, metadata); the
        # HNSW, optimizer, WAL and quantization settings are accepted and ignored, as local mode does.
        return self.client.create_collection(
            name,
            vectors_config=req.vectors,
            sparse_vectors_config=req.sparse_vectors,
            metadata=req.metadata,
        )

    def delete_collection(self, name: str, _body: Any) -> Any:
        # Qdrant's delete is idempotent: a missing collection answers `false`, not an error.
        existed = self.client.collection_exists(name)
        if existed:
            self.client.delete_collection(name)
        return existed

    def create_field_index(self, name: str, body: Any) -> Any:
        req = models.CreateFieldIndex.model_validate(body or {})
        self.existing(name)
        # Local mode filters by brute force; a payload index changes speed there, never results.
        return self.client.create_payload_index(name, field_name=req.field_name, field_schema=req.field_schema)

    def upsert_points(self, name: str, body: Any) -> Any:
        req = _point_ops.validate_python(body or {})
        self.existing(name)
        if isinstance(req, models.PointsBatch):
            if req.batch.vectors is not None and isinstance(req.batch.vectors, list):
                if len(req.batch.vectors) != len(req.batch.ids):
                    raise QdrantError(400, "Wrong input: number of ids and vectors must be equal")
            points: Any = req.batch
        else:
            points = req.points
        return self.client.upsert(name, points=points, wait=True)

    def delete_points(self, name: str, body: Any) -> Any:
        selector = _points_selector.validate_python(body or {})
        self.existing(name)
        return self.client.delete(name, points_selector=selector, wait=True)

    def count_points(self, name: str, body: Any) -> Any:
        req = models.CountRequest.model_validate(body or {})
        self.existing(name)
        return self.client.count(name, count_filter=req.filter, exact=req.exact if req.exact is not None else True)

    def scroll_points(self, name: str, body: Any) -> Any:
        req = models.ScrollRequest.model_validate(body or {})
        self.existing(name)
        points, next_offset = self.client.scroll(
            name,
            scroll_filter=req.filter,
            limit=req.limit if req.limit is not None else 10,
            offset=req.offset,
            with_payload=req.with_payload if req.with_payload is not None else True,
            with_vectors=req.with_vector if req.with_vector is not None else False,
            order_by=req.order_by,
        )
        return models.ScrollResult(points=points, next_page_offset=next_offset)

    def retrieve_points(self, name: str, body: Any) -> Any:
        req = models.PointRequest.model_validate(body or {})
        self.existing(name)
        return self.client.retrieve(
            name,
            ids=req.ids,
            with_payload=req.with_payload if req.with_payload is not None else True,
            with_vectors=req.with_vector if req.with_vector is not None else False,
        )

    def query_batch_points(self, name: str, body: Any) -> Any:
        req = models.QueryRequestBatch.model_validate(body or {})
        self.existing(name)
        # Local mode checks a stored vector's width but not a query's; the server checks both.
        size = self.dense_size(name)
        for search in req.searches:
            query = search.query.nearest if isinstance(search.query, models.NearestQuery) else search.query
            if size is not None and isinstance(query, list) and query and not isinstance(query[0], list) and len(query) != size:
                raise QdrantError(400, f"Wrong input: Vector dimension error: expected dim: {size}, got {len(query)}")
        return self.client.query_batch_points(name, requests=req.searches)

    def dense_size(self, name: str) -> int | None:
        vectors = self.client.get_collection(name).config.params.vectors
        return vectors.size if isinstance(vectors, models.VectorParams) else None


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
        if not self.authorised():
            self.error(401, "Must provide an API key or an Authorization bearer token", started)
            return
        # Before the injected faults: the JS client calls it on its own at construction time.
        if method == "GET" and path == "/":
            with self.engine.lock:
                info = self.engine.client.info()
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
            except Exception as err:  # noqa: BLE001 (any engine failure is the server's 500)
                self.error(500, f"Service internal error: {type(err).__name__}: {err}", started)
            return
        self.error(404, f"Not found: no route {method} {path} in qdrant-shim", started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("port", nargs="?", type=int, default=0, help="port on 127.0.0.1; 0 picks a free one")
    parser.add_argument("--api-key", default=None, help="require this key in the api-key header")
    args = parser.parse_args()

    RequestHandler.engine = Engine()
    RequestHandler.api_key = args.api_key
    server = ThreadingHTTPServer((LOOPBACK, args.port), RequestHandler)
    server.daemon_threads = True
    print(f"listening {LOOPBACK}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    sys.exit(main())

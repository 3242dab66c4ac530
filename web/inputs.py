"""The input edge: every path, query string and JSON body is bounded here, once, for every route.

- `<int:...>` path segments are 32-bit (a larger id matches no route: 404), as every id column is;
- JSON bodies are refused before parsing when nested deeper than JSON_MAX_DEPTH, and NaN/Infinity
  or non-finite numbers are refused while parsing (400);
- no string anywhere in a JSON body (keys included) may hold a NUL or an unpaired UTF-16 surrogate
  (422 naming the field), as PostgreSQL, bcrypt and UTF-8 all refuse them;
- every integer that arguments parsing produced (body, query, path) must fit a 32-bit column (422);
- a NUL in the path (404) or the query string (400), an over-long URL (414) or header (431) is
  answered with the error envelope before routing.

The checks hook into the webargs parser flask-smorest uses for `@blp.arguments` and into Flask's
JSON provider (`request.get_json`), so routes with plain `ma.fields.Integer`/`ma.fields.String`
get them without doing anything.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
import orjson
from flask import Flask, current_app, request
from flask.json.provider import DefaultJSONProvider
from flask_smorest import Blueprint
from flask_smorest.spec.plugins import integerconverter2paramschema
from webargs import core
from webargs.flaskparser import FlaskParser, abort, is_json_request
from werkzeug.routing import IntegerConverter

from common.jsoninput import UNSAFE_TEXT, JSONBodyError, decode_json, safe_json, unsafe_strings  # noqa: F401

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
OUT_OF_RANGE = f"Must be between {INT32_MIN} and {INT32_MAX}."
# Distinct (schema, query string) pairs whose parsed arguments are kept; past this it starts over.
QUERY_MEMO_SIZE = 2048


class BoundedIntConverter(IntegerConverter):
    """`<int:...>` limited to the 32-bit range of our id columns: a larger id matches no route."""

    def __init__(self, map, fixed_digits=0, min=None, max=INT32_MAX, signed=False):  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def _out_of_range(value: Any, path: tuple = ()) -> list[tuple]:
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        return [path] if not INT32_MIN <= value <= INT32_MAX else []
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in _out_of_range(item, path + (key,))]
    if isinstance(value, (list, tuple)):
        return [p for index, item in enumerate(value) for p in _out_of_range(item, path + (index,))]
    return []


def _messages(paths: list[tuple], message: str) -> dict:
    """{"a": {"0": {"b": [message]}}} from [("a", 0, "b")] (the `_schema` key for the whole body)."""
    messages: dict = {}
    for path in paths:
        node = messages
        keys = [str(key) for key in path] or ["_schema"]
        for key in keys[:-1]:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):  # pragma: no cover - a path cannot be both a leaf and a node
                break
        else:
            node[keys[-1]] = [message]
    return messages


def _own_copy(args: dict) -> dict:
    """Parsed arguments a view may change (lists included) without touching the kept ones."""
    return {name: list(value) if isinstance(value, list) else value for name, value in args.items()}


class EdgeParser(FlaskParser):
    """flask-smorest's argument parser with the edge's JSON bounds and 32-bit integers."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._schemas: dict[type, ma.Schema] = {}
        self._queries: dict[tuple, dict] = {}

    def _get_schema(self, argmap, req):
        # webargs builds a new instance of a schema class on every request (@blp.arguments(SomeArgs));
        # a marshmallow schema holds no per-load state, so one instance per class serves every request.
        if isinstance(argmap, type) and issubclass(argmap, ma.Schema):
            schema = self._schemas.get(argmap)
            if schema is None:
                schema = self._schemas[argmap] = argmap()
            return schema
        return super()._get_schema(argmap, req)

    def _raw_load_json(self, req):
        if not is_json_request(req):
            return core.missing
        try:
            value = decode_json(req.get_data(cache=True))
        except JSONBodyError as exc:
            abort(400, exc=exc, messages={"json": [str(exc)]})
        bad = unsafe_strings(value)
        if bad:
            raise ma.ValidationError(_messages(bad, UNSAFE_TEXT))
        return value

    def _process_location_data(self, location_data, schema, req, location, unknown, validators):
        # A query string's arguments are a function of the raw string and the schema (the query
        # schemas have constant defaults and validators that only look at the data): the same
        # GET /leaderboard?period=weekly is parsed once per process, not on every request (about
        # 40 us each). Only for the one-per-class schemas above; refusals are not kept.
        key = None
        if location == "query" and not validators and self._schemas.get(type(schema)) is schema:
            key = (schema, unknown, req.query_string)
            found = self._queries.get(key)
            if found is not None:
                return _own_copy(found)
        data = super()._process_location_data(location_data, schema, req, location, unknown, validators)
        bad = _out_of_range(data)
        if bad:
            raise ma.ValidationError(_messages(bad, OUT_OF_RANGE))
        if key is not None and isinstance(data, dict):
            if len(self._queries) >= QUERY_MEMO_SIZE:
                self._queries.clear()
            self._queries[key] = _own_copy(data)
        return data


# orjson writes what Flask's provider writes (datetime, date and dataclasses still go through the
# provider's own `default`), in a fraction of the time: the encoder was 5-7 % of a list read's CPU.
_ORJSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_COMPACT = {"separators": (",", ":")}


class EdgeJSONProvider(DefaultJSONProvider):
    """`request.get_json()` with the same bounds (a refused body is Flask's 400); responses are
    encoded by orjson (UTF-8), with the standard library (ASCII escapes) as the fallback for what
    orjson refuses (an integer beyond 64 bits, a lone surrogate) and for indented output (debug)."""

    def loads(self, s, **kwargs):
        if kwargs:  # pragma: no cover - Flask itself passes none
            return super().loads(s, **kwargs)
        return safe_json(s)

    def dumps(self, obj, **kwargs) -> str:
        return self._encode(obj, kwargs).decode()

    def response(self, *args, **kwargs):
        obj = self._prepare_response_obj(args, kwargs)
        debug = self.compact is False or (self.compact is None and self._app.debug)
        layout = {"indent": 2} if debug else _COMPACT
        return self._app.response_class(self._encode(obj, layout) + b"\n", mimetype=self.mimetype)

    def _encode(self, obj, kwargs: dict) -> bytes:
        if not kwargs or kwargs == _COMPACT:  # orjson's only layout
            try:
                return orjson.dumps(obj, default=self.default, option=_ORJSON_OPTIONS)
            except orjson.JSONEncodeError:
                pass  # the standard library writes it (an integer beyond 64 bits, a lone surrogate) or raises
        # ASCII escapes: a lone surrogate (orjson refuses it) has no UTF-8 form.
        return super().dumps(obj, **kwargs).encode()


# ---- URL and headers ----------------------------------------------------------------------------


_CONTENT_HEADERS = ("CONTENT_TYPE", "CONTENT_LENGTH")


def _refuse_before_routing():
    from web.errors import envelope

    config = current_app.config
    environ = request.environ
    # The path and query string as the client sent them (request.full_path re-quotes them: slower).
    if (
        len(environ.get("PATH_INFO", "")) + len(environ.get("QUERY_STRING", "")) + 1
        > config["MAX_URL_LENGTH"]
    ):
        return envelope(414, f"The URL is longer than {config['MAX_URL_LENGTH']} characters")
    limit = config["MAX_HEADER_BYTES"]
    # Straight from the WSGI environ (HTTP_<NAME> or CONTENT_TYPE/CONTENT_LENGTH, the header's name
    # being as long as the key less "HTTP_"): building request.headers costs more than this check.
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            size = len(key) - 5 + len(value)
        elif key in _CONTENT_HEADERS:
            size = len(key) + len(value)
        else:
            continue
        if size > limit:
            return envelope(431, f"A request header is larger than {limit} bytes")
    if "\x00" in request.path:
        return envelope(404)
    if b"%00" in request.query_string or b"\x00" in request.query_string:
        return envelope(
            400, "The query string must not contain NUL characters", {"query": {"_schema": [UNSAFE_TEXT]}}
        )
    return None


def init_input_edge(app: Flask) -> None:
    """Install the edge on `app`: before any blueprint is registered (converters bind then)."""
    app.url_map.converters["int"] = BoundedIntConverter
    app.json = EdgeJSONProvider(app)
    app.json.sort_keys = False
    # One parser for every flask-smorest Blueprint, including ones written after this module.
    Blueprint.ARGUMENTS_PARSER = EdgeParser()
    app.before_request_funcs.setdefault(None, []).insert(0, _refuse_before_routing)


def document_converters(api) -> None:
    """The OpenAPI path parameters of `<int:...>` carry the 32-bit bound (schemathesis reads it)."""
    api.register_converter(BoundedIntConverter, integerconverter2paramschema)

"""Query arguments and response shape for paginated lists, with RFC 8288 Link headers."""

from __future__ import annotations

from urllib.parse import urlencode

import marshmallow as ma
from flask import jsonify, request

from common.pagination import Page


class PaginationArgs(ma.Schema):
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=100_000))
    per_page = ma.fields.Integer(load_default=20, validate=ma.validate.Range(min=1, max=100))


class PageMeta(ma.Schema):
    page = ma.fields.Integer()
    per_page = ma.fields.Integer()
    total = ma.fields.Integer()
    pages = ma.fields.Integer()


def page_schema(item_schema: type[ma.Schema], name: str | None = None) -> type[ma.Schema]:
    """A schema `{items: [item], page, per_page, total, pages}` for item_schema."""
    name = name or item_schema.__name__.replace("Schema", "") + "PageSchema"
    return type(name, (PageMeta,), {"items": ma.fields.List(ma.fields.Nested(item_schema))})


def link_header(page: Page) -> str:
    """RFC 8288 links to the first, last, previous and next pages of this request's query."""
    base, args = request.base_url, request.args.to_dict(flat=True)

    def link(page_no: int, rel: str) -> str:
        args.update(page=page_no, per_page=page.per_page)
        return f'<{base}?{urlencode(args)}>; rel="{rel}"'

    last = max(page.pages, 1)
    links = [link(1, "first"), link(last, "last")]
    if page.page > 1:
        links.append(link(min(page.page - 1, last), "prev"))
    if page.page < page.pages:
        links.append(link(page.page + 1, "next"))
    return ", ".join(links)


def page_response(page: Page, items: list | None = None):
    """(body, headers) for a smorest view returning a page."""
    body = {
        "items": page.items if items is None else items,
        "page": page.page,
        "per_page": page.per_page,
        "total": page.total,
        "pages": page.pages,
    }
    return body, {"Link": link_header(page)}


def page_json(page: Page, items: list):
    """The page as a JSON response with its Link header, for views that build their items by hand
    (the view's response schema still documents them)."""
    body, headers = page_response(page, items)
    response = jsonify(body)
    response.headers.update(headers)
    return response

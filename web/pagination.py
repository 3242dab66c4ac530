"""Query arguments and response shape for paginated lists, with RFC 8288 Link headers."""
from __future__ import annotations

from urllib.parse import urlencode

import marshmallow as ma
from flask import request

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


def _link(page_no: int, per_page: int) -> str:
    args = request.args.to_dict(flat=True)
    args.update(page=page_no, per_page=per_page)
    return f"<{request.base_url}?{urlencode(args)}>"


def link_header(page: Page) -> str:
    links = [f'{_link(1, page.per_page)}; rel="first"']
    last = max(page.pages, 1)
    links.append(f'{_link(last, page.per_page)}; rel="last"')
    if page.page > 1:
        links.append(f'{_link(min(page.page - 1, last), page.per_page)}; rel="prev"')
    if page.page < page.pages:
        links.append(f'{_link(page.page + 1, page.per_page)}; rel="next"')
    return ", ".join(links)


def page_response(page: Page, items: list | None = None):
    """(body, headers) for a smorest view returning a page."""
    body = {
        "items": page.items if items is None else items,
        "page": page.page, "per_page": page.per_page, "total": page.total, "pages": page.pages,
    }
    return body, {"Link": link_header(page)}
